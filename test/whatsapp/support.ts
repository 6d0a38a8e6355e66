import { expect } from 'vitest';
import { draftTemplate, pollTemplateApprovals, readTemplate, submitTemplate } from '../../src/app/templates.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { projectionsAtHead, type TestApp } from '../support/app.ts';

/** What every WhatsApp test shares: the account's number, the sandbox's controls, a template WhatsApp decided. */

/** The account's number: its SMS sender and its WhatsApp sender (one number may be both). */
export const SENDER = '+14155550100';

/** `POST /sandbox/faults`: the sandbox's controls (templateDecision, whatsappUnreachable …). */
export const sandboxFaults = (running: TestApp, body: Record<string, unknown>) =>
  fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/**
 * Drafts and submits a template and runs one approval poll: the sandbox decides as its faults say (by default,
 * approved). Resolves once the read models show the decision, as the web tool lists templates from them.
 */
export async function decidedTemplate(running: TestApp, content: TemplateContent, status = 'approved') {
  const deps = { ...running.app, templates: running.app.channels.whatsappTemplates };
  const { templateId } = await draftTemplate(running.app, 'default', content, SYSTEM);
  const submitted = await submitTemplate(deps, 'default', templateId, SYSTEM);
  // The polling job finds submitted templates in the templates read model.
  await waitForProjection(running.app.db, 'templates', submitted.position!);
  await pollTemplateApprovals(deps);
  const state = await readTemplate(running.app, templateId);
  expect(state.status).toBe(status);
  await projectionsAtHead(running);
  return { templateId, contentSid: state.contentSid! };
}
