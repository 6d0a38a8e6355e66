import { expect } from 'vitest';
import { addSender, addSkill, setConversationIdleTimeout } from '../../src/app/account-settings.ts';
import { addUser } from '../../src/app/accounts.ts';
import { createWhatsAppCampaign, type NewWhatsAppCampaign } from '../../src/app/whatsapp-campaigns.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { committedHead, eventually, startTestApp, type TestApp } from '../support/app.ts';
import { decidedTemplate, SENDER } from './support.ts';

export { SENDER } from './support.ts';
export const AGENT = { email: 'wa-agent@outbound.test', password: 'agent password 1', name: 'Wanda Agent' };

export const quickReplyTemplate: TemplateContent = {
  name: 'table_ready',
  language: 'en_US',
  category: 'UTILITY',
  header: { type: 'image', sampleUrl: 'https://cdn.example.com/table.jpg' },
  body: 'Hi {{1}}, your table for {{2}} is ready.',
  footer: 'Casa Outbound',
  buttons: { type: 'quick-reply', replies: ['On my way', 'Cancel it'] },
  samples: { '1': 'Ana', '2': 'two' },
};

export const textTemplate: TemplateContent = {
  name: 'order_update',
  language: 'en_US',
  category: 'UTILITY',
  header: null,
  body: 'Hi {{1}}, your order has shipped.',
  footer: null,
  buttons: { type: 'none' },
  samples: { '1': 'Ana' },
};

export interface WhatsAppSetup {
  running: TestApp;
  smsSenderId: string;
  whatsappSenderId: string;
  skillId: string;
}

/** An app with Proactive on, the number as SMS and WhatsApp sender, a default skill and an agent. */
export async function startWhatsAppApp(options: { now?: () => Date } = {}): Promise<WhatsAppSetup> {
  const running = await startTestApp({ TEMPLATE_POLL_MS: '3600000' }, { worker: true, now: options.now });
  const sms = await readyAccount(running);
  const whatsapp = await addSender(
    running.app,
    { accountId: 'default', channel: 'whatsapp', address: SENDER, rate: 0 },
    SYSTEM,
  );
  const skill = await addSkill(running.app, { accountId: 'default', name: 'Front desk', isDefault: true }, SYSTEM);
  // Longer than WhatsApp's window, so that a conversation outlives it (the tests move the clock past 24 hours).
  await setConversationIdleTimeout(running.app, { accountId: 'default', minutes: 7 * 24 * 60 }, SYSTEM);
  const agent = await addUser(running.app, { accountId: 'default', role: 'agent', ...AGENT }, SYSTEM);
  await waitForProjection(running.app.db, 'users', agent.position!, { timeoutMs: 10_000 });
  return { running, smsSenderId: sms.senderId, whatsappSenderId: whatsapp.senderId, skillId: skill.skillId };
}

/** A template submitted and approved by the sandbox. */
export const approvedTemplate = (running: TestApp, content: TemplateContent) => decidedTemplate(running, content);

/** A WhatsApp (or, with `fallback`, prioritized) campaign, published; resolves once it completed. */
export async function whatsAppCampaign(
  setup: WhatsAppSetup,
  input: Pick<NewWhatsAppCampaign, 'templateId' | 'recipients' | 'fallback'> & { name?: string },
) {
  const { running } = setup;
  const created = await createWhatsAppCampaign(
    { ...running.app, personalData: running.app.channels.personalData },
    {
      accountId: 'default',
      name: input.name ?? 'WhatsApp campaign',
      senderId: setup.whatsappSenderId,
      skillId: setup.skillId,
      source: 'api',
      consent: true,
      publish: true,
      now: running.app.now?.(),
      ...input,
    },
    SYSTEM,
  );
  expect(created.outcomes.filter((outcome) => 'error' in outcome && outcome.error)).toEqual([]);
  await waitForCampaign(running, created.campaignId);
  return created.campaignId;
}

/** The consumer's WhatsApp message (or quick-reply tap) through the sandbox phone and the signed webhook. */
export async function whatsAppReply(running: TestApp, from: string, body: string, buttonPayload?: string) {
  const response = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: `whatsapp:${from}`, to: `whatsapp:${SENDER}`, body, buttonPayload }),
  });
  const answer = (await response.json()) as { sid: string; webhookStatus: number };
  expect(response.status, JSON.stringify(answer)).toBe(201);
  expect(answer.webhookStatus).toBe(200);
  return answer;
}

/** The read models at the store's committed head. */
export async function caughtUp(running: TestApp) {
  const head = await committedHead(running.app.db);
  if (head) expect(await waitForProjection(running.app.db, 'conversations', head, { timeoutMs: 20_000 })).toBe(true);
}

/** The consumer's conversations (newest first), once there are `count`. */
export async function conversationsOf(running: TestApp, phone: string, count = 1) {
  const consumerRef = await running.app.channels.personalData.consumerRef('default', phone);
  let rows: Record<string, unknown>[] = [];
  await eventually(async () => {
    await caughtUp(running);
    rows = await running.app
      .db('conversations')
      .where({ account_id: 'default', consumer_ref: consumerRef })
      .orderBy('opened_at', 'desc');
    return rows.length >= count;
  }, `${count} conversation(s) of ${phone}`);
  return { rows, consumerRef };
}

/** A conversation's transcript, opened with the consumer's key. */
export async function transcriptOf(running: TestApp, conversationId: string, consumerRef: string) {
  await caughtUp(running);
  const rows = await running.app
    .db('conversation_messages')
    .where({ account_id: 'default', conversation_id: conversationId })
    .orderBy('at');
  return Promise.all(
    rows.map(async (row) => ({
      direction: row.direction as string,
      ...(await running.app.channels.personalData.openFor<{ text: string; buttonPayload?: string }>(
        'default',
        consumerRef,
        row.sealed,
      )),
    })),
  );
}
