import { addSender, addSkill } from '../../src/app/account-settings.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { readyAccount, SYSTEM } from '../dispatch/support.ts';
import type { TestApp } from '../support/app.ts';
import { SENDER, sandboxFaults } from './support.ts';

export { decidedTemplate, SENDER } from './support.ts';

/** The WhatsApp web tests' account: Proactive on, an SMS sender, the same number as a WhatsApp sender, a skill. */

export async function readyWhatsAppAccount(running: TestApp) {
  const sms = await readyAccount(running);
  await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: SENDER, rate: 0 }, SYSTEM);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  return sms;
}

export const faults = sandboxFaults;

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
