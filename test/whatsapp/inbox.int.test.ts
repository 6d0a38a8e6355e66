import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAgentReply } from '../../src/app/conversations.ts';
import * as conversation from '../../src/domain/conversation.ts';
import { phone, SYSTEM } from '../dispatch/support.ts';
import { WebSession } from '../support/browser-session.ts';
import {
  AGENT,
  approvedTemplate,
  conversationsOf,
  SENDER,
  startWhatsAppApp,
  textTemplate,
  type WhatsAppSetup,
  whatsAppCampaign,
  whatsAppReply,
} from './inbound-support.ts';

/**
 * The agent inbox on WhatsApp (F18): a reply goes out as free text from the WhatsApp sender while the consumer
 * wrote within 24 hours, and after that the inbox says why it cannot send and nothing is sent. The app's clock is
 * moved forward (the sandbox keeps the wall clock, so its own 24-hour check lets the in-window reply through).
 */
let setup: WhatsAppSetup;
let offsetMs = 0;
const HOUR = 3_600_000;
const consumerPhone = phone(300);
let conversationId: string;
let agent: WebSession;

beforeAll(async () => {
  setup = await startWhatsAppApp({ now: () => new Date(Date.now() + offsetMs) });
  const { templateId } = await approvedTemplate(setup.running, textTemplate);
  await whatsAppCampaign(setup, {
    templateId,
    name: 'Orders',
    recipients: [{ phone: consumerPhone, variables: { '1': 'Gil' } }],
  });
  await whatsAppReply(setup.running, consumerPhone, 'When will it arrive?');
  conversationId = String((await conversationsOf(setup.running, consumerPhone)).rows[0]!.conversation_id);
  agent = new WebSession(setup.running.baseUrl);
  expect((await agent.login(AGENT.email, AGENT.password)).status).toBe(303);
});
afterAll(async () => {
  await setup?.running.close();
});

const sentToConsumer = () =>
  setup.running.app.db('sandbox_messages').where({ direction: 'outbound-api', to: `whatsapp:${consumerPhone}` });
const agentMessages = async () =>
  (await setup.running.app.store.read(conversation.conversationStream(conversationId))).filter(
    (event) => event.type === 'AgentMessageSent',
  );

describe('an agent’s reply in a WhatsApp conversation', () => {
  it('goes out over WhatsApp as free text from the WhatsApp sender within 24 hours', async () => {
    offsetMs = 1 * HOUR;
    const list = await agent.get('/inbox');
    expect(list.html).toMatch(new RegExp(`data-conversation="${conversationId}"[\\s\\S]*?data-channel="whatsapp"`));
    const page = await agent.get(`/inbox/${conversationId}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('id="reply-form"');
    expect(page.html).toContain('Reply on WhatsApp');
    expect(page.html).toContain('data-reply-window="open"');
    expect(page.html).not.toContain('id="reply-window-closed"');

    const before = (await sentToConsumer()).length;
    const sent = await agent.post(`/inbox/${conversationId}/reply`, { text: 'Tomorrow before noon.' });
    expect(sent.status, sent.html).toBe(303);
    const held = (await sentToConsumer()).slice(before);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      from: `whatsapp:${SENDER}`,
      to: `whatsapp:${consumerPhone}`,
      body: 'Tomorrow before noon.',
      content_sid: null,
    });
    expect(await agentMessages()).toHaveLength(1);
    const shown = await agent.get(sent.location!);
    expect(shown.html).toContain('Tomorrow before noon.');
  });

  it('is refused after 24 hours, with the reason shown in the inbox, and nothing is sent', async () => {
    offsetMs = 25 * HOUR;
    const page = await agent.get(`/inbox/${conversationId}`);
    expect(page.status).toBe(200);
    // The reply form is replaced by the reason.
    expect(page.html).toContain('id="reply-window-closed"');
    expect(page.html).toContain('A reply cannot be sent on WhatsApp now.');
    expect(page.html).toContain('24-hour window closed at');
    expect(page.html).not.toContain('id="reply-form"');

    // A send from a page loaded before the window closed is refused the same way, inline.
    const before = (await sentToConsumer()).length;
    const refused = await agent.post(`/inbox/${conversationId}/reply`, { text: 'Are you still there?' });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('id="error"');
    expect(refused.html).toContain('24-hour window closed at');
    expect(await sentToConsumer()).toHaveLength(before);
    expect(await agentMessages()).toHaveLength(1);

    // The command says the same to any other caller.
    await expect(
      sendAgentReply(
        {
          ...setup.running.app,
          personalData: setup.running.app.channels.personalData,
          providers: setup.running.app.channels.providers,
        },
        {
          accountId: 'default',
          conversationId,
          agentId: 'agent-x',
          text: 'Hello?',
          now: new Date(Date.now() + offsetMs),
        },
        SYSTEM,
      ),
    ).rejects.toMatchObject({ code: 'WHATSAPP_WINDOW_CLOSED' });
    expect(await sentToConsumer()).toHaveLength(before);
  });

  it('opens again when the consumer writes again', async () => {
    offsetMs = 26 * HOUR;
    await whatsAppReply(setup.running, consumerPhone, 'Still waiting!');
    await conversationsOf(setup.running, consumerPhone);
    const page = await agent.get(`/inbox/${conversationId}`);
    expect(page.html).toContain('id="reply-form"');
    const sent = await agent.post(`/inbox/${conversationId}/reply`, { text: 'It is on the truck.' });
    expect(sent.status, sent.html).toBe(303);
    expect((await sentToConsumer()).map((row) => row.body)).toContain('It is on the truck.');
  });
});
