import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleCommand } from '../../src/app/handler.ts';
import * as message from '../../src/domain/message.ts';
import { eventually, projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import {
  afterFallback,
  faults,
  kill,
  killAll,
  messageEvents,
  type Prioritized,
  prioritizedCampaign,
  prioritizedSetup,
  receivedPerNumber,
  startWorker,
} from './crash-support.ts';
import { messageCounts, phone, readyAccount, sendCampaign, waitForCampaign } from './support.ts';

/**
 * The dispatcher runs in a separate worker process (`ROLE=worker`, the product's own entry point) that is
 * SIGKILLed at random moments, over and over, during a 2,000-recipient campaign. Whatever the moment, the sandbox
 * must end with exactly one message per recipient: a send whose record was lost is reconciled, never repeated.
 */
let running: TestApp;
let senderId: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sandboxCount(): Promise<number> {
  const counted = await running.app.db('sandbox_messages').count('* as count');
  return Number(counted[0]?.count ?? 0);
}

/** Starts a worker and SIGKILLs it at a random moment once it sends, `kills` times: the sandbox counts after each. */
async function killWhileSending(kills: number, env: Record<string, string> = {}): Promise<number[]> {
  const progress: number[] = [await sandboxCount()];
  for (let kill_ = 0; kill_ < kills; kill_++) {
    const worker = startWorker(running, env);
    // Kill only once this worker is sending (start-up time varies with the machine), at a random moment after.
    const before = progress[progress.length - 1]!;
    const deadline = Date.now() + 60_000;
    while ((await sandboxCount()) === before && Date.now() < deadline) await sleep(20);
    await sleep(Math.random() * 400);
    await kill(worker);
    progress.push(await sandboxCount());
  }
  return progress;
}

/** How many kills landed while sending was under way (the sandbox moved, and had not reached `total`). */
const midSending = (progress: number[], total: number) =>
  progress.filter((count, index) => index > 0 && count < total && count > progress[index - 1]!).length;

beforeAll(async () => {
  running = await startTestApp();
  senderId = (await readyAccount(running)).senderId;
  await faults(running, { callbackDelayMs: -1 });
});
afterAll(async () => {
  await killAll();
  await running?.close();
});

describe('crash safety', () => {
  it('sends exactly one message per recipient although the worker is killed at random 12 times', async () => {
    const recipients = Array.from({ length: 2000 }, (_, index) => ({ phone: phone(index) }));
    const created = await sendCampaign(running, senderId, recipients, 'Crash-tested hello');
    // How many messages the sandbox holds after each kill: the kills must land while sending is under way.
    const progress = (await killWhileSending(12)).slice(1);
    const midCampaign = progress.filter((count, index) => count < 2000 && count > (progress[index - 1] ?? 0));
    expect(midCampaign.length, `sandbox counts after each kill: ${progress.join(', ')}`).toBeGreaterThanOrEqual(10);
    const last = startWorker(running);
    try {
      // Twelve cold starts and their reconciliations: minutes on two busy cores. The bound only stops a hung run.
      await waitForCampaign(running, created.campaignId, 'completed', 480_000);
    } finally {
      // Whatever happens, no worker of this campaign goes on sending into the next test.
      await kill(last);
    }

    const outbound = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' }).select('to');
    const perRecipient = new Map<string, number>();
    for (const row of outbound) perRecipient.set(row.to, (perRecipient.get(row.to) ?? 0) + 1);
    expect([...perRecipient.values()].filter((count) => count > 1)).toEqual([]);
    expect(perRecipient.size).toBe(2000);
    expect(outbound).toHaveLength(2000);
    const counts = await messageCounts(running, created.campaignId);
    expect(counts).toEqual({ sent: 2000 });
  }, 600_000);
});

describe('crash safety on the prioritized channel (WhatsApp first, SMS as its fallback)', () => {
  let route: Prioritized;
  beforeAll(async () => {
    route = await prioritizedSetup(running, senderId);
  });

  it('every recipient gets one message per channel it should, although the worker is killed at random 8 times', async () => {
    const numbers = Array.from({ length: 600 }, (_, n) => phone(10_000 + n));
    const unreachable = numbers.slice(0, 180);
    const noReceipt = numbers.slice(180, 240);
    const fine = numbers.slice(240);
    // Receipts come 20 ms after each step. A late receipt (WhatsApp delivered after the SMS fallback went out) is
    // kept out deterministically: the numbers with receipts are in a campaign whose timeout (600 s) outlasts the
    // test, and those without one in a campaign of 2 s, whose WhatsApp messages never get a receipt at all.
    await faults(running, { whatsappUnreachable: unreachable, whatsappNoReceipt: noReceipt, callbackDelayMs: 20 });
    const withReceipts = await prioritizedCampaign(running, route, [...unreachable, ...fine], 600);
    const withoutReceipts = await prioritizedCampaign(running, route, noReceipt, 2);
    // 360 WhatsApp messages, 180 SMS instead of WhatsApp, and 60 WhatsApp messages followed by their SMS.
    const total = (await sandboxCount()) + fine.length + unreachable.length + 2 * noReceipt.length;
    // This process also answers every status callback here: a request's timeout of 2 s keeps reconciliations
    // from timing out over and over on a busy machine.
    const env = { TWILIO_TIMEOUT_MS: '2000', DISPATCH_LEASE_MS: '3500' };
    const progress = await killWhileSending(8, env);
    expect(midSending(progress, total), `sandbox counts after each kill: ${progress.join(', ')}`).toBeGreaterThan(5);
    const last = startWorker(running, env);
    try {
      const campaigns = [withReceipts.campaignId, withoutReceipts.campaignId];
      // Every message delivered: the WhatsApp ones by WhatsApp, the others by their SMS.
      const outcomes = async () => {
        const rows = await running.app
          .db('campaign_messages')
          .whereIn('campaign_id', campaigns)
          .groupBy('channel', 'status')
          .select('channel', 'status')
          .orderBy(['channel', 'status'])
          .count('* as count');
        return Object.fromEntries(rows.map((row) => [`${row.channel} ${row.status}`, Number(row.count)]));
      };
      const expected = { 'sms delivered': unreachable.length + noReceipt.length, 'whatsapp delivered': fine.length };
      await eventually(
        async () => JSON.stringify(await outcomes()) === JSON.stringify(expected),
        'delivered',
        300_000,
      ).catch(() => undefined);
      expect(await outcomes()).toEqual(expected);
      await waitForCampaign(running, withReceipts.campaignId, 'completed', 60_000);
    } finally {
      await kill(last);
    }

    // Each number against what it should have got; a wrong one is shown with its sandbox rows and its events.
    const got = await receivedPerNumber(running);
    const [a, b] = [unreachable.length, unreachable.length + noReceipt.length];
    const wanted = (index: number) =>
      index < a ? { whatsapp: 0, sms: 1 } : index < b ? { whatsapp: 1, sms: 1 } : { whatsapp: 1, sms: 0 };
    const messageIdOf = (index: number) =>
      index < a
        ? withReceipts.messageIds[index]!
        : index < b
          ? withoutReceipts.messageIds[index - a]!
          : withReceipts.messageIds[index - noReceipt.length]!;
    const wrong = numbers
      .map((number, index) => ({ number, index }))
      .filter(({ number, index }) => JSON.stringify(got(number)) !== JSON.stringify(wanted(index)));
    const problems = await Promise.all(
      wrong.map(async ({ number, index }) => ({
        number,
        got: got(number),
        wanted: wanted(index),
        sandbox: await running.app
          .db('sandbox_messages')
          .whereIn('to', [number, `whatsapp:${number}`])
          .select('to', 'sid', 'date_created'),
        events: (await messageEvents(running, messageIdOf(index))).map((event) => ({
          type: event.type,
          data: event.data,
        })),
      })),
    );
    expect(problems).toEqual([]);
    expect(await sandboxCount()).toBe(total);
  }, 600_000);

  /**
   * A forced interleaving: the fallback SMS is in flight (the sandbox answers it after 1 s, the worker gave up
   * waiting after 0.5 s: its outcome is unknown until reconciled) when WhatsApp's receipt comes after all, and
   * the worker is then killed. The message must stay in the dispatch queue to be reconciled.
   */
  async function lateReceiptWhileSmsInFlight(number: string, smsFault: Record<string, unknown>) {
    await faults(running, { whatsappUnreachable: [], whatsappNoReceipt: [number], callbackDelayMs: -1 });
    const { campaignId, messageIds } = await prioritizedCampaign(running, route, [number], 600);
    const messageId = messageIds[0]!;
    const ids = { accountId: 'default', campaignId, messageId };
    const env = { DISPATCH_LEASE_MS: '5000' };
    const worker = startWorker(running, env);
    const sent = async () => (await messageEvents(running, messageId)).find((event) => event.type === 'MessageSent');
    await eventually(async () => !!(await sent()), 'the WhatsApp message sent', 60_000);
    await faults(running, smsFault);
    // The receipt timeout, run now rather than waited for.
    const fallback = { type: 'FallBack' as const, ...ids, now: new Date().toISOString() };
    await handleCommand(running.app.store, message.messageStream(messageId), message, fallback, { actor: 'test' });
    await eventually(async () => (await afterFallback(running, messageId)).includes('MessageSendStarted'), 'SMS');
    const whatsapp = (await running.app.db('sandbox_messages').where({ to: `whatsapp:${number}` }))[0];
    await running.app.channels.sandbox!.postSigned(whatsapp.status_callback, {
      AccountSid: whatsapp.account_sid,
      From: whatsapp.from,
      To: whatsapp.to,
      MessageSid: whatsapp.sid,
      MessageStatus: 'delivered',
      ChannelPrefix: 'whatsapp',
    });
    await eventually(async () => (await afterFallback(running, messageId)).includes('MessageDelivered'), 'receipt');
    await kill(worker);
    expect(await afterFallback(running, messageId)).toEqual(['MessageSendStarted', 'MessageDelivered']);
    await projectionsAtHead(running);
    const queued = await running.app.db('dispatch_queue').where({ account_id: 'default', message_id: messageId });
    expect(queued.map((row) => row.state)).toEqual(['sending']);
    await faults(running, { delayMs: 0, errorRate: 0, slowNumbers: {} });
    return { ids, worker: startWorker(running, env) };
  }

  it('a WhatsApp receipt that comes while the fallback SMS is in flight: the SMS is reconciled after a kill, both recorded', async () => {
    const number = phone(20_000);
    const { ids, worker } = await lateReceiptWhileSmsInFlight(number, { slowNumbers: { [number]: 1000 } });
    await eventually(
      async () => (await afterFallback(running, ids.messageId)).includes('MessageSent'),
      'the SMS reconciled as sent',
      60_000,
    );
    await kill(worker);
    expect((await receivedPerNumber(running))(number)).toEqual({ whatsapp: 1, sms: 1 });
    const [sms] = await running.app.db('sandbox_messages').where({ to: number });
    const events = await messageEvents(running, ids.messageId);
    expect(events.filter((event) => event.type === 'MessageSent').map((event) => event.data.providerMessageId)).toEqual(
      [expect.stringMatching(/^SM/), sms.sid],
    );
  }, 120_000);

  it('a WhatsApp receipt that comes while the fallback SMS is in flight and lost: the SMS is not sent again', async () => {
    const number = phone(20_001);
    // The sandbox answers the SMS after 1 s with a 500 and stores nothing: lost, as far as the worker can tell.
    const { ids, worker } = await lateReceiptWhileSmsInFlight(number, { delayMs: 1000, errorRate: 1 });
    await eventually(
      async () => (await afterFallback(running, ids.messageId)).includes('MessageSendFailed'),
      'the lost SMS attempt settled',
      60_000,
    );
    await kill(worker);
    const events = await messageEvents(running, ids.messageId);
    const failed = events.find((event) => event.type === 'MessageSendFailed' && event.data.code === 'LEASE_EXPIRED');
    expect(failed?.data).toMatchObject({ retryable: false });
    const state = events.reduce(message.evolve, message.initialState());
    expect(state.status).toBe('delivered');
    expect((await receivedPerNumber(running))(number)).toEqual({ whatsapp: 1, sms: 0 });
    await projectionsAtHead(running);
    expect(await running.app.db('dispatch_queue').where({ message_id: ids.messageId })).toEqual([]);
    // The campaign's page says so too: delivered (by WhatsApp), not failed.
    const row = await running.app.db('campaign_messages').where({ account_id: 'default', message_id: ids.messageId });
    expect(row.map((one) => one.status)).toEqual(['delivered']);
  }, 120_000);
});
