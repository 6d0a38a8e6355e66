import { expect } from 'vitest';
import { addSender, addSkill } from '../../src/app/account-settings.ts';
import { draftTemplate, pollTemplateApprovals, readTemplate, submitTemplate } from '../../src/app/templates.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { readyAccount, SYSTEM } from '../dispatch/support.ts';
import { projectionsAtHead, type TestApp } from '../support/app.ts';

/** The WhatsApp web tests' account: Proactive on, an SMS sender, the same number as a WhatsApp sender, a skill. */
export const SENDER = '+14155550100';

export async function readyWhatsAppAccount(running: TestApp) {
  const sms = await readyAccount(running);
  await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: SENDER, rate: 0 }, SYSTEM);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  return sms;
}

export const faults = (running: TestApp, body: Record<string, unknown>) =>
  fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

export const textTemplate = (name: string): TemplateContent => ({
  name,
  language: 'en',
  category: 'UTILITY',
  header: null,
  body: 'Hello {{1}}, your order {{2}} has shipped.',
  footer: null,
  buttons: { type: 'none' },
  samples: { '1': 'Ana', '2': 'A-1' },
});

export const imageTemplate = (name: string): TemplateContent => ({
  name,
  language: 'en_US',
  category: 'MARKETING',
  header: { type: 'image', sampleUrl: 'https://cdn.example.com/sample.png' },
  body: 'Hi {{1}}, the summer drop is here.',
  footer: 'Acme',
  buttons: { type: 'quick-reply', replies: ['Show me', 'Not now'] },
  samples: { '1': 'Ana' },
});

/** Drafts and submits a template, and runs one approval poll: the sandbox decides as its faults say (approved). */
export async function decidedTemplate(running: TestApp, content: TemplateContent, status = 'approved') {
  const deps = { ...running.app, templates: running.app.channels.whatsappTemplates };
  const { templateId } = await draftTemplate(running.app, 'default', content, SYSTEM);
  const submitted = await submitTemplate(deps, 'default', templateId, SYSTEM);
  await waitForProjection(running.app.db, 'templates', submitted.position!);
  await pollTemplateApprovals(deps);
  const state = await readTemplate(running.app, templateId);
  expect(state.status).toBe(status);
  // The handoff form and the wizard list templates and handoffs from their read models.
  await projectionsAtHead(running);
  return { templateId, contentSid: state.contentSid! };
}
