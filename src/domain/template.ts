import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';
import { checkTemplateContent, type TemplateContent, templateContentSchema } from './template-content.ts';

/**
 * A WhatsApp template (F5): drafted in the web tool, submitted to Twilio's Content API with a WhatsApp approval
 * request, then approved, rejected (with WhatsApp's reason), paused or disabled as the approval polling finds.
 * Only a draft or a rejected template can be edited; any template can be duplicated into a new draft.
 */

export const templateStream = (templateId: string) => `template-${templateId}`;

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'paused', 'disabled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type TemplateStatus = 'none' | 'draft' | ApprovalStatus | 'deleted';

const ids = { accountId: z.string(), templateId: z.string() };

export const TemplateEvents = {
  /** A new draft, or a draft's new content (an edit); `duplicatedFrom` names the template it was copied from. */
  TemplateDrafted: z.object({
    ...ids,
    content: templateContentSchema,
    duplicatedFrom: z.string().nullable(),
    at: z.string(),
  }),
  TemplateSubmitted: z.object({ ...ids, contentSid: z.string(), at: z.string() }),
  TemplateApprovalChanged: z.object({
    ...ids,
    status: z.enum(APPROVAL_STATUSES),
    reason: z.string().nullable(),
    at: z.string(),
  }),
  TemplateDeleted: z.object({ ...ids, at: z.string() }),
};
export type TemplateEvent = EventsOf<typeof TemplateEvents>;

export type TemplateCommand =
  | { type: 'DraftTemplate'; accountId: string; templateId: string; content: TemplateContent; at: string }
  | { type: 'EditTemplate'; accountId: string; templateId: string; content: TemplateContent; at: string }
  | {
      type: 'DuplicateTemplate';
      accountId: string;
      templateId: string;
      source: Template & { id: string };
      name: string;
      at: string;
    }
  | { type: 'SubmitTemplate'; accountId: string; templateId: string; contentSid: string; at: string }
  | {
      type: 'RecordApproval';
      accountId: string;
      templateId: string;
      status: ApprovalStatus;
      reason: string | null;
      at: string;
    }
  | { type: 'DeleteTemplate'; accountId: string; templateId: string; at: string };

export interface Template {
  status: TemplateStatus;
  accountId: string;
  content: TemplateContent | null;
  contentSid: string | null;
  rejectionReason: string | null;
  submittedAt: string | null;
}

export const initialState = (): Template => ({
  status: 'none',
  accountId: '',
  content: null,
  contentSid: null,
  rejectionReason: null,
  submittedAt: null,
});

/** Only an approved template is used by a handoff or a campaign (paused, rejected, disabled and pending are not). */
export const usable = (template: Template) => template.status === 'approved';
/** A draft, or a rejected template being reworked; once WhatsApp has it under review or approved, it is fixed. */
export const editable = (template: Template) => template.status === 'draft' || template.status === 'rejected';

function existing(state: Template, accountId: string): void {
  if (state.status === 'none' || state.status === 'deleted' || state.accountId !== accountId) {
    throw new DomainError('WHATSAPP_TEMPLATE_NOT_FOUND', 'No such template.', 'templateId');
  }
}

export const decide = (command: TemplateCommand, state: Template): TemplateEvent[] => {
  const { accountId, templateId, at } = command;
  switch (command.type) {
    case 'DraftTemplate':
      if (state.status !== 'none') throw new DomainError('TEMPLATE_EXISTS', 'That template id is taken.', 'templateId');
      checkTemplateContent(command.content);
      return [
        {
          type: 'TemplateDrafted',
          data: { accountId, templateId, content: command.content, duplicatedFrom: null, at },
        },
      ];
    case 'EditTemplate':
      existing(state, accountId);
      if (!editable(state)) {
        throw new DomainError(
          'TEMPLATE_NOT_EDITABLE',
          `A template that is ${state.status} cannot be edited; duplicate it into a new draft instead.`,
          'templateId',
        );
      }
      checkTemplateContent(command.content);
      return [
        {
          type: 'TemplateDrafted',
          data: { accountId, templateId, content: command.content, duplicatedFrom: null, at },
        },
      ];
    case 'DuplicateTemplate': {
      if (state.status !== 'none') throw new DomainError('TEMPLATE_EXISTS', 'That template id is taken.', 'templateId');
      existing(command.source, accountId);
      const content = { ...command.source.content!, name: command.name };
      checkTemplateContent(content);
      return [
        { type: 'TemplateDrafted', data: { accountId, templateId, content, duplicatedFrom: command.source.id, at } },
      ];
    }
    case 'SubmitTemplate':
      existing(state, accountId);
      if (!editable(state)) {
        throw new DomainError('TEMPLATE_ALREADY_SUBMITTED', `The template is ${state.status} already.`, 'templateId');
      }
      return [{ type: 'TemplateSubmitted', data: { accountId, templateId, contentSid: command.contentSid, at } }];
    case 'RecordApproval': {
      existing(state, accountId);
      if (!state.contentSid) throw new DomainError('TEMPLATE_NOT_SUBMITTED', 'The template was never submitted.');
      const reason = command.status === 'approved' || command.status === 'pending' ? null : command.reason;
      if (state.status === command.status && state.rejectionReason === reason) return [];
      return [{ type: 'TemplateApprovalChanged', data: { accountId, templateId, status: command.status, reason, at } }];
    }
    case 'DeleteTemplate':
      if (state.status === 'deleted' && state.accountId === accountId) return [];
      existing(state, accountId);
      return [{ type: 'TemplateDeleted', data: { accountId, templateId, at } }];
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Template, event: TemplateEvent): Template => {
  switch (event.type) {
    case 'TemplateDrafted':
      return {
        ...state,
        status: 'draft',
        accountId: event.data.accountId,
        content: event.data.content,
        contentSid: null,
        rejectionReason: null,
        submittedAt: null,
      };
    case 'TemplateSubmitted':
      return { ...state, status: 'pending', contentSid: event.data.contentSid, submittedAt: event.data.at };
    case 'TemplateApprovalChanged':
      return { ...state, status: event.data.status, rejectionReason: event.data.reason };
    case 'TemplateDeleted':
      return { ...state, status: 'deleted' };
    default:
      return assertNever(event);
  }
};
