import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSender, addSkill, setReceivingWindow } from '../../src/app/account-settings.ts';
import { API_SCOPES, WEEKDAYS, type WeeklyWindow } from '../../src/domain/account-settings.ts';
import { messageIdFor } from '../../src/domain/campaign.ts';
import * as message from '../../src/domain/message.ts';
import { apiToken } from '../support/api-client.ts';
import { eventually, projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { decidedTemplate, SENDER, sandboxFaults } from '../whatsapp/support.ts';
import { ALWAYS_OPEN, phone, readyAccount, SYSTEM, waitForCampaign } from './support.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let accessToken: string;
let handoffId: string;
let contentSid: string;
// Open only on the day three days from now: closed today in every time zone.
const openDay = WEEKDAYS[(new Date().getUTCDay() + 6 + 3) % 7];
const CLOSED = Object.fromEntries(
  WEEKDAYS.map((day) => [day, day === openDay ? { start: '00:00', end: '24:00' } : null]),
) as WeeklyWindow;

const api = (path: string, body: unknown) =>
  fetch(`${running.baseUrl}/api/v2/account/default${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const faults = (body: Record<string, unknown>) => sandboxFaults(running, body);
const digits = (number: string) => number.slice(1);

async function campaign(numbers: string[]) {
  const response = await api('/campaign', {
    campaignName: 'Prioritized',
    skill: 'Sales',
    templateId: handoffId,
    consent: true,
    consumers: numbers.map((number, n) => ({
      consumerContent: { sms: digits(number), wa: digits(number) },
      variables: { '1': `Name${n}` },
    })),
  });
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBe(201);
  expect(body.acceptedConsumers).toHaveLength(numbers.length);
  return body.proactiveCampaignId as string;
}

/** What the sandbox holds per number: its WhatsApp and its SMS messages. */
async function received(numbers: string[]) {
  const rows = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' });
  return new Map(
    numbers.map((number) => [
      number,
      {
        whatsapp: rows.filter((row) => row.to === `whatsapp:${number}`),
        sms: rows.filter((row) => row.to === number),
      },
    ]),
  );
}

/** The outcomes metric's totals (all campaigns of this file), keyed `channel outcome code`. */
async function outcomeTotals(): Promise<Map<string, number>> {
  const rows = await running.app.db('message_outcome_totals').select('channel', 'outcome', 'code', 'total');
  const totals = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.channel} ${row.outcome} ${row.code}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(row.total));
  }
  return totals;
}

async function events(messageId: string) {
  return (await running.app.store.read(message.messageStream(messageId))).map((event) => event.type);
}

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000', TEMPLATE_POLL_MS: '3600000' }, { worker: true });
  await readyAccount(running);
  await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: SENDER, rate: 0 }, SYSTEM);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  const drafted = await decidedTemplate(running, {
    name: 'order_update',
    language: 'en',
    category: 'UTILITY',
    header: null,
    body: 'Hello {{1}}, your order has shipped.',
    footer: null,
    buttons: { type: 'none' },
    samples: { '1': 'Ana' },
  });
  contentSid = drafted.contentSid;
  accessToken = await apiToken(running, API_SCOPES);
  const handoff = await api('/handoffs', {
    name: 'Order update',
    skill: 'Sales',
    channels: [
      {
        type: 'wa',
        outboundnumber: SENDER,
        templateId: drafted.templateId,
        fallbackTimeoutSeconds: 5,
        messageComponents: [],
      },
      {
        type: 'sms-twilio',
        outboundnumber: SENDER,
        messageComponents: [{ type: 'body', content: 'Hi ${{1}}, your order shipped.', variables: ['1'] }],
      },
    ],
  });
  const created = await json(handoff);
  expect(handoff.status, JSON.stringify(created)).toBe(201);
  handoffId = created.id;
});
afterAll(async () => {
  await running?.close();
});

describe('the prioritized channel: WhatsApp first, SMS as its fallback', () => {
  it('30% not on WhatsApp and 10% without a receipt get SMS, the others WhatsApp, nobody both otherwise', async () => {
    const numbers = Array.from({ length: 20 }, (_, n) => phone(100 + n));
    const unreachable = numbers.slice(0, 6);
    const noReceipt = numbers.slice(6, 8);
    const fine = numbers.slice(8);
    await faults({ whatsappUnreachable: unreachable, whatsappNoReceipt: noReceipt, callbackDelayMs: 20 });
    await projectionsAtHead(running);
    const outcomesBefore = await outcomeTotals();
    const campaignId = await campaign(numbers);
    // The receipt timeout is 5 s; the worker's fallback job runs every 2 s.
    await eventually(
      async () => {
        const got = await received(noReceipt);
        return [...got.values()].every((entry) => entry.sms.length === 1);
      },
      'the SMS fallback of the messages without a receipt',
      30_000,
    );
    await waitForCampaign(running, campaignId);
    const got = await received(numbers);
    for (const number of unreachable) {
      expect(got.get(number)!.whatsapp, number).toHaveLength(0);
      expect(
        got.get(number)!.sms.map((row) => row.body),
        number,
      ).toEqual([expect.stringMatching(/^Hi Name\d+, your order shipped\.$/)]);
    }
    for (const number of noReceipt) {
      expect(
        got.get(number)!.whatsapp.map((row) => row.status),
        number,
      ).toEqual(['sent']);
      expect(got.get(number)!.sms, number).toHaveLength(1);
    }
    for (const number of fine) {
      expect(
        got.get(number)!.whatsapp.map((row) => row.content_sid),
        number,
      ).toEqual([contentSid]);
      expect(got.get(number)!.sms, number).toHaveLength(0);
    }
    // The SMS fallback carries no opt-out line (the account did not turn it on).
    expect(got.get(unreachable[0]!)!.sms[0].body).not.toMatch(/STOP/);
    const rows = await running.app.db('campaign_messages').where({ account_id: 'default', campaign_id: campaignId });
    const byStatus = (channel: string) => rows.filter((row) => row.channel === channel).length;
    expect(byStatus('sms')).toBe(8);
    expect(byStatus('whatsapp')).toBe(12);
    const first = rows.find((row) => row.seq === 0)!;
    expect(await events(first.message_id)).toEqual(
      expect.arrayContaining(['MessageSendFailed', 'MessageFellBack', 'MessageSent', 'MessageDelivered']),
    );

    // Counted per channel: each send under the channel it went on (14 WhatsApp sends, 6 refused with 63003, 8 SMS),
    // in the analytics and in the outcomes metric alike.
    await projectionsAtHead(running);
    const daily = (await running.app
      .db('account_daily_stats')
      .where({ account_id: 'default', campaign_id: campaignId })
      .whereIn('metric', ['sent', 'failed'])
      .select('channel', 'metric')
      .count({ n: '*' })
      .groupBy('channel', 'metric')) as { channel: string; metric: string; n: string }[];
    expect(Object.fromEntries(daily.map((row) => [`${row.channel} ${row.metric}`, Number(row.n)]))).toEqual({
      'whatsapp sent': 14,
      'whatsapp failed': 6,
      'sms sent': 8,
    });
    const outcomesAfter = await outcomeTotals();
    const delta = (key: string) => (outcomesAfter.get(key) ?? 0) - (outcomesBefore.get(key) ?? 0);
    expect({
      whatsappSent: delta('whatsapp sent '),
      whatsappNotOnWhatsApp: delta('whatsapp failed 63003'),
      smsSent: delta('sms sent '),
      smsFailed: delta('sms failed 63003'),
    }).toEqual({ whatsappSent: 14, whatsappNotOnWhatsApp: 6, smsSent: 8, smsFailed: 0 });
  });

  it('a WhatsApp receipt that arrives before the fallback SMS goes out cancels the SMS', async () => {
    const number = phone(200);
    await faults({ whatsappUnreachable: [], whatsappNoReceipt: [number], callbackDelayMs: 20 });
    // SMS may not go out now, so the fallback SMS waits for its window.
    await setReceivingWindow(running.app, { accountId: 'default', channel: 'sms', window: CLOSED }, SYSTEM);
    const campaignId = await campaign([number]);
    const row = { message_id: messageIdFor(campaignId, 0) };
    await eventually(async () => (await events(row.message_id)).includes('MessageFellBack'), 'fell back', 30_000);
    await eventually(async () => (await events(row.message_id)).includes('MessageDeferred'), 'SMS deferred');
    const [whatsapp] = (await received([number])).get(number)!.whatsapp;
    await running.app.channels.sandbox!.postSigned(whatsapp.status_callback, {
      AccountSid: whatsapp.account_sid,
      From: whatsapp.from,
      To: whatsapp.to,
      MessageSid: whatsapp.sid,
      MessageStatus: 'delivered',
      ChannelPrefix: 'whatsapp',
    });
    await eventually(async () => (await events(row.message_id)).includes('MessageDelivered'), 'late receipt');
    const state = (await running.app.store.read(message.messageStream(row.message_id))).reduce(
      (folded, event) => message.evolve(folded, event as unknown as message.MessageEvent),
      message.initialState(),
    );
    expect(state.status).toBe('delivered');
    await setReceivingWindow(running.app, { accountId: 'default', channel: 'sms', window: ALWAYS_OPEN }, SYSTEM);
    await waitForCampaign(running, campaignId);
    expect((await received([number])).get(number)!.sms).toHaveLength(0);
  });

  it('a WhatsApp receipt that arrives after the fallback SMS went out is recorded beside the SMS delivery', async () => {
    const number = phone(300);
    await faults({ whatsappNoReceipt: [number], callbackDelayMs: 20 });
    const campaignId = await campaign([number]);
    const row = { message_id: messageIdFor(campaignId, 0) };
    await eventually(async () => (await received([number])).get(number)!.sms.length === 1, 'the SMS fallback', 30_000);
    await eventually(async () => (await events(row.message_id)).includes('MessageDelivered'), 'SMS delivered');
    const [whatsapp] = (await received([number])).get(number)!.whatsapp;
    await running.app.channels.sandbox!.postSigned(whatsapp.status_callback, {
      AccountSid: whatsapp.account_sid,
      From: whatsapp.from,
      To: whatsapp.to,
      MessageSid: whatsapp.sid,
      MessageStatus: 'delivered',
      ChannelPrefix: 'whatsapp',
    });
    await eventually(
      async () => (await events(row.message_id)).filter((type) => type === 'MessageDelivered').length === 2,
      'both deliveries recorded',
    );
    const delivered = (await running.app.store.read(message.messageStream(row.message_id)))
      .filter((event) => event.type === 'MessageDelivered')
      .map((event) => (event.data as { providerMessageId: string }).providerMessageId);
    const sms = (await received([number])).get(number)!.sms[0];
    expect(delivered.sort()).toEqual([sms.sid, whatsapp.sid].sort());
  });
});
