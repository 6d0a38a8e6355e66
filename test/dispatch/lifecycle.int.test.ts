import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelCampaign } from '../../src/app/campaigns.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { messageCounts, phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from './support.ts';

let running: TestApp;
let senderId: string;

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
});
afterAll(async () => {
  await running?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sandboxTo = (numbers: string[]) => running.app.db('sandbox_messages').whereIn('to', numbers).select('to');
const statusOf = async (campaignId: string) =>
  (await running.app.db('campaigns').where({ account_id: 'default', campaign_id: campaignId }).first('status'))?.status;

describe('campaign lifecycle', () => {
  it('holds a scheduled campaign until its time, then the scheduler starts it and every recipient is sent', async () => {
    const numbers = Array.from({ length: 20 }, (_, index) => phone(3000 + index));
    const sendAt = new Date(Date.now() + 6000);
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
      'Scheduled hello',
      { sendAt },
    );
    await waitForCampaign(running, created.campaignId, 'scheduled', 10_000);
    await sleep(2000);
    expect(await statusOf(created.campaignId)).toBe('scheduled');
    expect(await sandboxTo(numbers)).toEqual([]);

    await waitForCampaign(running, created.campaignId, 'completed', 30_000);
    expect(await sandboxTo(numbers)).toHaveLength(20);
    expect(Date.now()).toBeGreaterThanOrEqual(sendAt.getTime());
    const started = await running.app.db('campaigns').where({ campaign_id: created.campaignId }).first('started_at');
    expect(started.started_at.getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
  }, 60_000);

  it('cancels a scheduled campaign before it starts: nothing is sent', async () => {
    const numbers = Array.from({ length: 5 }, (_, index) => phone(3100 + index));
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
      'Never sent',
      { sendAt: new Date(Date.now() + 4000) },
    );
    await cancelCampaign(
      running.app,
      { accountId: 'default', campaignId: created.campaignId, cancelledBy: 'test' },
      SYSTEM,
    );
    await waitForCampaign(running, created.campaignId, 'cancelled', 10_000);
    await sleep(7000); // past its time and a scheduler tick
    expect(await statusOf(created.campaignId)).toBe('cancelled');
    expect(await sandboxTo(numbers)).toEqual([]);
  }, 30_000);

  it('cancels a campaign in progress: sent messages stay sent, every unsent one is skipped as cancelled', async () => {
    // Slow the sandbox down so that the cancel lands while the campaign is sending.
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: 150 }),
    });
    const numbers = Array.from({ length: 400 }, (_, index) => phone(3200 + index));
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
      'Cancelled midway',
    );
    const deadline = Date.now() + 20_000;
    while ((await sandboxTo(numbers)).length === 0 && Date.now() < deadline) await sleep(20);
    await cancelCampaign(
      running.app,
      { accountId: 'default', campaignId: created.campaignId, cancelledBy: 'test' },
      SYSTEM,
    );
    await waitForCampaign(running, created.campaignId, 'cancelled', 10_000);
    // Wait until no message is left waiting or sending.
    let counts: Record<string, number> = {};
    for (const end = Date.now() + 30_000; Date.now() < end; await sleep(100)) {
      counts = await messageCounts(running, created.campaignId);
      if (!counts.queued && !counts.sending && !counts.retrying && !counts.deferred) break;
    }
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ delayMs: 0 }),
    });
    const sent = (counts.sent ?? 0) + (counts.delivered ?? 0);
    expect(Object.keys(counts).sort()).toEqual(
      Object.keys(counts)
        .filter((status) => ['sent', 'delivered', 'skipped'].includes(status))
        .sort(),
    );
    expect(sent).toBeGreaterThan(0);
    expect(counts.skipped).toBeGreaterThan(0);
    expect(sent + (counts.skipped ?? 0)).toBe(400);
    expect(await sandboxTo(numbers)).toHaveLength(sent);
    const reasons = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default', campaign_id: created.campaignId, status: 'skipped' })
      .distinct('reason');
    expect(reasons).toEqual([{ reason: 'cancelled' }]);
    expect(await statusOf(created.campaignId)).toBe('cancelled');
  }, 60_000);
});
