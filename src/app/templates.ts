import { randomBytes } from 'node:crypto';
import type { WhatsAppTemplates } from '../channels/port.ts';
import { DomainError } from '../domain/decider.ts';
import * as template from '../domain/template.ts';
import { type TemplateContent, templateContentSchema } from '../domain/template-content.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

/** F5: WhatsApp templates, drafted, edited, duplicated, submitted for approval and followed until decided. */

interface Deps {
  store: EventStore;
}

const newTemplateId = () => randomBytes(8).toString('hex');

export function parseTemplateContent(input: unknown): TemplateContent {
  const parsed = templateContentSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new DomainError('INVALID_FIELD', `${field}: ${issue.message}`, field);
}

const run = (deps: Deps, templateId: string, command: template.TemplateCommand, context: CommandContext) =>
  handleCommand(deps.store, template.templateStream(templateId), template, command, context);

export async function draftTemplate(deps: Deps, accountId: string, input: unknown, context: CommandContext) {
  const content = parseTemplateContent(input);
  const templateId = newTemplateId();
  const at = new Date().toISOString();
  const result = await run(deps, templateId, { type: 'DraftTemplate', accountId, templateId, content, at }, context);
  return { ...result, templateId };
}

export async function editTemplate(
  deps: Deps,
  accountId: string,
  templateId: string,
  input: unknown,
  context: CommandContext,
) {
  const content = parseTemplateContent(input);
  const at = new Date().toISOString();
  return run(deps, templateId, { type: 'EditTemplate', accountId, templateId, content, at }, context);
}

export async function duplicateTemplate(
  deps: Deps,
  accountId: string,
  sourceId: string,
  name: string,
  context: CommandContext,
) {
  const source = await readTemplate(deps, sourceId);
  const templateId = newTemplateId();
  const at = new Date().toISOString();
  const command = {
    type: 'DuplicateTemplate' as const,
    accountId,
    templateId,
    source: { ...source, id: sourceId },
    name,
    at,
  };
  const result = await run(deps, templateId, command, context);
  return { ...result, templateId };
}

export function deleteTemplate(deps: Deps, accountId: string, templateId: string, context: CommandContext) {
  return run(
    deps,
    templateId,
    { type: 'DeleteTemplate', accountId, templateId, at: new Date().toISOString() },
    context,
  );
}

/**
 * Creates the Content at Twilio, then its WhatsApp approval request, then records the submission. The decider is
 * asked first (with a placeholder sid), so a template that may not be submitted never reaches Twilio.
 */
export async function submitTemplate(
  deps: Deps & { templates: WhatsAppTemplates },
  accountId: string,
  templateId: string,
  context: CommandContext,
) {
  const state = await readTemplate(deps, templateId);
  const at = new Date().toISOString();
  template.decide({ type: 'SubmitTemplate', accountId, templateId, contentSid: 'HX', at }, state);
  const content = state.content!;
  const contentSid = await deps.templates.create(content);
  await deps.templates.requestApproval(contentSid, { name: content.name, category: content.category });
  return run(deps, templateId, { type: 'SubmitTemplate', accountId, templateId, contentSid, at }, context);
}

export async function readTemplate(deps: Deps, templateId: string): Promise<template.Template> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(templateId)) return template.initialState();
  return foldStream(template, await deps.store.read(template.templateStream(templateId)));
}

/** The template as the write side knows it, or null when it is not this account's (or is deleted). */
export async function loadTemplate(deps: Deps, accountId: string, templateId: string) {
  const state = await readTemplate(deps, templateId);
  if (state.status === 'none' || state.status === 'deleted' || state.accountId !== accountId) return null;
  return state;
}

/**
 * The approval-polling job (TEMPLATE_POLL_MS, under the cron advisory lock): asks Twilio for every submitted
 * template that is not settled for good (pending, and approved or paused ones, which WhatsApp may pause, disable
 * or restore) and records each change. A template the provider cannot be asked about is tried at the next poll.
 */
export async function pollTemplateApprovals(
  deps: Deps & { db: Db; log: Logger; templates: WhatsAppTemplates },
  limit = 500,
): Promise<number> {
  const rows = await deps
    .db('templates')
    .whereNotNull('content_sid')
    .whereNull('deleted_at')
    .whereIn('status', ['pending', 'approved', 'paused'])
    .orderBy('updated_at')
    .limit(limit)
    .select<{ account_id: string; template_id: string; content_sid: string }[]>(
      'account_id',
      'template_id',
      'content_sid',
    );
  let changed = 0;
  for (const row of rows) {
    try {
      const approval = await deps.templates.approval(row.content_sid);
      const result = await run(
        deps,
        row.template_id,
        {
          type: 'RecordApproval',
          accountId: row.account_id,
          templateId: row.template_id,
          status: approval.status,
          reason: approval.reason,
          at: new Date().toISOString(),
        },
        { actor: 'system:template-approvals' },
      );
      changed += result.events.length;
    } catch (error) {
      deps.log.warn({ err: error, templateId: row.template_id }, 'template approval poll failed');
    }
  }
  return changed;
}
