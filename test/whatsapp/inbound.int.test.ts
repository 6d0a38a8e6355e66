import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountAnalytics } from '../../src/app/analytics.ts';
import * as consumer from '../../src/domain/consumer.ts';
import * as conversation from '../../src/domain/conversation.ts';
import { HELP_REPLY } from '../../src/http/webhooks/twilio-inbound.ts';
import { phone } from '../dispatch/support.ts';
import { eventually, projectionsAtHead } from '../support/app.ts';
import {
  approvedTemplate,
  caughtUp,
  conversationsOf,
  quickReplyTemplate,
  SENDER,
  startWhatsAppApp,
  textTemplate,
  transcriptOf,
  type WhatsAppSetup,
  whatsAppCampaign,
  whatsAppReply,
} from './inbound-support.ts';

/** Inbound WhatsApp (F5, F18): replies and quick-reply taps reach the conversation the campaign's message opened. */
let setup: WhatsAppSetup;
let quickReply: { templateId: string; contentSid: string };
let text: { templateId: string; contentSid: string };

const faults = (body: Record<string, unknown>) =>
  fetch(`${setup.running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  setup = await startWhatsAppApp();
  quickReply = await approvedTemplate(setup.running, quickReplyTemplate);
  text = await approvedTemplate(setup.running, textTemplate);
});
afterAll(async () => {
  await setup?.running.close();
});

/** Every event of the stream as stored, for what must never be in it in plaintext. */
async function storedJson(streamId: string) {
  const events = await setup.running.app.store.read(streamId);
  return JSON.stringify(events.map(({ type, data, metadata }) => ({ type, data, metadata })));
}

describe('a WhatsApp reply', () => {
  it('opens a WhatsApp conversation on the campaign, and a quick-reply tap joins it as the button’s text', async () => {
    const { running } = setup;
    const ana = phone(100);
    const campaignId = await whatsAppCampaign(setup, {
      templateId: quickReply.templateId,
      name: 'Tables',
      recipients: [
        {
          phone: ana,
          variables: { '1': 'Ana', '2': 'four' },
          headerVariables: { image: 'https://cdn.example.com/t.jpg' },
        },
      ],
    });

    await whatsAppReply(running, ana, 'Can we come at 8 instead?');
    const { rows, consumerRef } = await conversationsOf(running, ana);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      channel: 'whatsapp',
      routing: 'first-reply',
      campaign_id: campaignId,
      skill_id: setup.skillId,
      status: 'open',
      sender_id: setup.whatsappSenderId,
    });
    const conversationId = String(rows[0]!.conversation_id);

    await whatsAppReply(running, ana, 'On my way', 'On my way');
    await eventually(
      async () => (await transcriptOf(running, conversationId, consumerRef)).length === 3,
      'the tap in the transcript',
    );
    expect(await transcriptOf(running, conversationId, consumerRef)).toEqual([
      // The first proactive message as the consumer read it on WhatsApp: the template with their values.
      { direction: 'proactive', text: 'Hi Ana, your table for four is ready.' },
      { direction: 'in', text: 'Can we come at 8 instead?' },
      { direction: 'in', text: 'On my way', buttonPayload: 'On my way' },
    ]);
    expect((await conversationsOf(running, ana)).rows).toHaveLength(1);
    const campaignRow = await running.app.db('campaign_messages').where({ campaign_id: campaignId }).first();
    expect(campaignRow).toMatchObject({ status: 'responded', conversation_id: conversationId });

    // Nothing personal in plaintext: not the number, not what was written, not the button tapped.
    const stored = await storedJson(conversation.conversationStream(conversationId));
    for (const secret of [ana, ana.slice(1), 'Can we come at 8', 'On my way', 'Ana']) {
      expect(stored).not.toContain(secret);
    }
  });

  it('routes a reply on WhatsApp to a prioritized campaign’s WhatsApp leg, after it fell back to SMS', async () => {
    const { running } = setup;
    const ben = phone(101);
    // No WhatsApp receipt: after its timeout the message falls back and goes as SMS too.
    expect((await faults({ whatsappNoReceipt: [ben] })).status).toBe(200);
    const campaignId = await whatsAppCampaign(setup, {
      templateId: text.templateId,
      name: 'Shipping',
      recipients: [{ phone: ben, variables: { '1': 'Ben' } }],
      fallback: { senderId: setup.smsSenderId, text: 'Hi ${{1}}, your order has shipped (SMS).', timeoutSeconds: 1 },
    });
    const sent = () =>
      running.app
        .db('sandbox_messages')
        .where({ direction: 'outbound-api' })
        .whereIn('to', [ben, `whatsapp:${ben}`]);
    await eventually(async () => (await sent()).length === 2, 'the WhatsApp message and its SMS fallback', 30_000);
    expect((await sent()).map((row) => row.to).sort()).toEqual([ben, `whatsapp:${ben}`]);
    await projectionsAtHead(running);

    await whatsAppReply(running, ben, 'Thanks! Where is it now?');
    const { rows, consumerRef } = await conversationsOf(running, ben);
    expect(rows[0]).toMatchObject({ channel: 'whatsapp', routing: 'first-reply', campaign_id: campaignId });
    const transcript = await transcriptOf(running, String(rows[0]!.conversation_id), consumerRef);
    expect(transcript[0]).toEqual({ direction: 'proactive', text: 'Hi Ben, your order has shipped.' });
  });

  it('opts out with STOP over WhatsApp as over SMS: recorded for WhatsApp, the conversation closed', async () => {
    const { running } = setup;
    const cleo = phone(102);
    await whatsAppCampaign(setup, {
      templateId: text.templateId,
      name: 'Stops',
      recipients: [{ phone: cleo, variables: { '1': 'Cleo' } }],
    });
    await whatsAppReply(running, cleo, 'who is this?');
    const { consumerRef } = await conversationsOf(running, cleo);
    await whatsAppReply(running, cleo, 'stop');
    const streamId = consumer.consumerStream('default', consumerRef);
    const events = await running.app.store.read(streamId);
    const optedOut = events.find((event) => event.type === 'ConsumerOptedOut');
    expect(optedOut?.data).toMatchObject({ keyword: 'STOP', channel: 'whatsapp', via: 'keyword' });
    expect((await conversationsOf(running, cleo)).rows[0]).toMatchObject({
      status: 'closed',
      close_reason: 'consumer-opted-out',
    });
    // The next campaign skips them.
    const next = await whatsAppCampaign(setup, {
      templateId: text.templateId,
      name: 'After stop',
      recipients: [{ phone: cleo, variables: { '1': 'Cleo' } }],
    });
    await projectionsAtHead(running);
    expect(await running.app.db('campaign_messages').where({ campaign_id: next }).first()).toMatchObject({
      status: 'skipped',
      reason: 'opted-out',
    });
    expect(await storedJson(streamId)).not.toContain(cleo);
  });

  it('answers HELP on WhatsApp from the WhatsApp sender, as free text', async () => {
    const { running } = setup;
    const dan = phone(103);
    await whatsAppReply(running, dan, 'HELP');
    await eventually(
      async () =>
        Boolean(
          await running.app
            .db('sandbox_messages')
            .where({ to: `whatsapp:${dan}`, from: `whatsapp:${SENDER}`, body: HELP_REPLY })
            .first(),
        ),
      'the help reply',
    );
  });
});

describe('the inbound webhook on WhatsApp', () => {
  const signedPost = async (params: Record<string, string>) => {
    const { running } = setup;
    const url = `${running.baseUrl}/webhooks/twilio/inbound`;
    const { authToken } = await running.app.channels.twilioCredentials();
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
  };

  it('refuses a From and To on different channels, or a WhatsApp number that is no sender, recording nothing', async () => {
    const before = await setup.running.app.store.headPosition();
    const mixed = await signedPost({ MessageSid: 'SMmixed', From: `whatsapp:${phone(104)}`, To: SENDER, Body: 'hi' });
    expect(mixed.status).toBe(400);
    expect(await mixed.text()).toContain('whatsapp:+E164');
    const unknown = await signedPost({
      MessageSid: 'SMunknown',
      From: `whatsapp:${phone(104)}`,
      To: 'whatsapp:+14155550199',
      Body: 'hi',
    });
    expect(unknown.status).toBe(404);
    // Late delivery callbacks of earlier tests may land meanwhile; nothing of a consumer or conversation did.
    const since = await setup.running.app.store.readAll(before, 1000);
    expect(since.filter((event) => /^(conversation|consumer)-/.test(event.streamId))).toEqual([]);
  });

  it('records a media-only message as saying so, and a tap’s payload beside its text', async () => {
    const { running } = setup;
    const eve = phone(105);
    const media = await signedPost({
      MessageSid: 'MMmedia1',
      From: `whatsapp:${eve}`,
      To: `whatsapp:${SENDER}`,
      Body: '',
      NumMedia: '2',
      ProfileName: 'Eve',
      WaId: eve.slice(1),
    });
    expect(media.status).toBe(200);
    const tap = await signedPost({
      MessageSid: 'SMtap1',
      From: `whatsapp:${eve}`,
      To: `whatsapp:${SENDER}`,
      Body: 'Yes please',
      ButtonText: 'Yes please',
      ButtonPayload: 'confirm-42',
      MessageType: 'button',
    });
    expect(tap.status).toBe(200);
    const { rows, consumerRef } = await conversationsOf(running, eve);
    // No campaign reached Eve: a plain conversation on the default skill, on WhatsApp.
    expect(rows[0]).toMatchObject({ channel: 'whatsapp', routing: 'default-skill', skill_id: setup.skillId });
    expect(await transcriptOf(running, String(rows[0]!.conversation_id), consumerRef)).toEqual([
      { direction: 'in', text: '[2 attachments]' },
      { direction: 'in', text: 'Yes please', buttonPayload: 'confirm-42' },
    ]);
  });
});

describe('reporting', () => {
  it('counts a WhatsApp campaign’s sent, delivered and read under WhatsApp', async () => {
    const { running } = setup;
    expect((await faults({ readAfterMs: 20, callbackDelayMs: 20 })).status).toBe(200);
    const numbers = [phone(110), phone(111)];
    const campaignId = await whatsAppCampaign(setup, {
      templateId: text.templateId,
      name: 'Reads',
      recipients: numbers.map((number) => ({ phone: number, variables: { '1': 'Fay' } })),
    });
    await eventually(async () => {
      await projectionsAtHead(running);
      const rows = await running.app.db('campaign_messages').where({ campaign_id: campaignId });
      return rows.every((row) => row.status === 'read');
    }, 'both messages read');
    await caughtUp(running);
    await projectionsAtHead(running);
    const day = new Date().toISOString().slice(0, 10);
    const rows = await running.app
      .db('account_daily_stats')
      .where({ account_id: 'default', campaign_id: campaignId })
      .select('channel', 'metric');
    const counted = (metric: string) => rows.filter((row) => row.metric === metric).map((row) => row.channel);
    for (const metric of ['attempted', 'sent', 'delivered', 'read']) {
      expect(counted(metric), metric).toEqual(['whatsapp', 'whatsapp']);
    }
    const analytics = await accountAnalytics(running.app, 'default', { from: day, to: day, channel: 'whatsapp' });
    const total = (metric: 'sent' | 'delivered' | 'read') => analytics.reduce((sum, row) => sum + row[metric], 0);
    expect(total('read')).toBeGreaterThanOrEqual(2);
    expect(total('delivered')).toBeGreaterThanOrEqual(2);
    expect(total('sent')).toBeGreaterThanOrEqual(total('delivered'));
  });
});
