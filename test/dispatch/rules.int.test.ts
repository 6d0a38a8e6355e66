import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { messageCounts, readyAccount, sendCampaign, waitForCampaign } from './support.ts';

const A = '+14152019001';
const B = '+14152019002';
const SENDER = '+14155550100';

async function reply(running: TestApp, from: string, body: string) {
  const response = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: SENDER, body }),
  });
  expect(response.status).toBe(201);
  expect(((await response.json()) as { webhookStatus: number }).webhookStatus).toBe(200);
}

async function statusOf(running: TestApp, campaignId: string) {
  const rows = await running.app
    .db('campaign_messages')
    .where({ account_id: 'default', campaign_id: campaignId })
    .orderBy('seq')
    .select('status', 'reason');
  return rows.map((row) => (row.reason ? `${row.status}:${row.reason}` : row.status));
}

describe('opt-out (F12)', () => {
  let running: TestApp;
  let senderId: string;
  beforeAll(async () => {
    running = await startTestApp({}, { worker: true });
    senderId = (await readyAccount(running)).senderId;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('skips a consumer who replied STOP in every later campaign, until START', async () => {
    const first = await sendCampaign(running, senderId, [{ phone: A }, { phone: B }]);
    await waitForCampaign(running, first.campaignId);
    await reply(running, A, '  stop ');

    const second = await sendCampaign(running, senderId, [{ phone: A }, { phone: B }]);
    await waitForCampaign(running, second.campaignId);
    expect((await statusOf(running, second.campaignId)).map((s) => s.replace('delivered', 'sent'))).toEqual([
      'skipped:opted-out',
      'sent',
    ]);
    const optOut = await running.app.db('opt_outs').where({ account_id: 'default' }).first();
    expect(optOut).toMatchObject({ opted_out: true, keyword: 'STOP', via: 'keyword' });

    await reply(running, A, 'START');
    const third = await sendCampaign(running, senderId, [{ phone: A }]);
    await waitForCampaign(running, third.campaignId);
    expect((await statusOf(running, third.campaignId)).map((s) => s.replace('delivered', 'sent'))).toEqual(['sent']);
    const toA = await running.app.db('sandbox_messages').where({ direction: 'outbound-api', to: A });
    expect(toA).toHaveLength(2);
  });

  it('answers HELP with the help text and records nothing', async () => {
    await reply(running, B, 'help');
    const answer = await running.app
      .db('sandbox_messages')
      .where({ direction: 'outbound-api', to: B })
      .orderBy('seq', 'desc')
      .first();
    expect(answer.body).toContain('Reply STOP to unsubscribe');
  });

  it('refuses webhooks without a valid signature, recording nothing', async () => {
    const before = await running.app.store.headPosition();
    for (const path of ['/webhooks/twilio/inbound', '/webhooks/twilio/status?a=default&m=x.0']) {
      for (const signature of [undefined, 'forged']) {
        const response = await fetch(`${running.baseUrl}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(signature ? { 'x-twilio-signature': signature } : {}),
          },
          body: new URLSearchParams({
            From: A,
            To: SENDER,
            Body: 'STOP',
            MessageSid: 'SM1',
            MessageStatus: 'delivered',
          }),
        });
        expect(response.status).toBe(403);
      }
    }
    // Late status callbacks of earlier campaigns may still land meanwhile; none of what follows is the forged
    // requests' doing.
    const since = await running.app.store.readAll(before, 1000);
    expect(
      since.filter(
        (event) =>
          event.type === 'ConsumerOptedOut' ||
          event.streamId === 'message-x.0' ||
          event.metadata.actor === 'system:twilio-inbound',
      ),
    ).toEqual([]);
  });
});

describe('off-hours (F13) with a fake clock', () => {
  let running: TestApp;
  let senderId: string;
  // 22:00 in Honolulu (UTC−10, no DST) tomorrow: the fake clock must be ahead of the real one, which stamps the
  // queue when the campaign starts.
  const tomorrow = new Date(
    Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1),
  );
  const at = (hour: number, second = 0) => new Date(tomorrow.getTime() + hour * 3_600_000 + second * 1000);
  let clock = at(8);
  beforeAll(async () => {
    running = await startTestApp({}, { worker: true, now: () => clock });
    senderId = (await readyAccount(running, { window: null })).senderId;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('defers a Honolulu recipient at 22:00 local to 08:00, then sends', async () => {
    const created = await sendCampaign(running, senderId, [{ phone: '+18085550123' }]);
    const deadline = Date.now() + 20_000;
    let row: { status: string; deferred_until: Date | null } | undefined;
    while (Date.now() < deadline) {
      row = await running.app
        .db('campaign_messages')
        .where({ account_id: 'default', campaign_id: created.campaignId })
        .first();
      if (row?.status === 'deferred') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(row?.status).toBe('deferred');
    expect(row?.deferred_until?.toISOString()).toBe(at(18).toISOString());
    expect(await running.app.db('sandbox_messages').where({ to: '+18085550123' })).toHaveLength(0);

    clock = at(18, 1);
    await waitForCampaign(running, created.campaignId, 'completed', 20_000);
    expect(await running.app.db('sandbox_messages').where({ to: '+18085550123' })).toHaveLength(1);
  });
});

describe('provider faults', () => {
  let running: TestApp;
  let senderId: string;
  let clock = new Date();
  let ticker: NodeJS.Timeout;
  beforeAll(async () => {
    // Time runs a minute per 100 ms here, so the retries' backoff passes quickly.
    ticker = setInterval(() => {
      clock = new Date(clock.getTime() + 60_000);
    }, 100);
    running = await startTestApp({}, { worker: true, now: () => clock });
    senderId = (await readyAccount(running)).senderId;
  });
  afterAll(async () => {
    clearInterval(ticker);
    await running?.close();
  });

  it('ends every message Sent or Failed with a reason under 5xx, 429 and permanent errors', async () => {
    const numbers = Array.from({ length: 60 }, (_, index) => `+1415203${String(index).padStart(4, '0')}`);
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        errorRate: 0.4,
        errorStatus: 500,
        failNumbers: { [numbers[0]!]: 21211, [numbers[1]!]: 21614 },
      }),
    });
    const first = await sendCampaign(
      running,
      senderId,
      numbers.slice(0, 30).map((phone) => ({ phone })),
    );
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ errorRate: 0.4, errorStatus: 429 }),
    });
    const second = await sendCampaign(
      running,
      senderId,
      numbers.slice(30).map((phone) => ({ phone })),
    );
    await waitForCampaign(running, first.campaignId, 'completed', 60_000);
    await waitForCampaign(running, second.campaignId, 'completed', 60_000);

    const rows = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default' })
      .select('status', 'error_code', 'error_message');
    for (const row of rows) {
      expect(['sent', 'delivered', 'failed']).toContain(row.status);
      if (row.status === 'failed') expect(row.error_code && row.error_message).toBeTruthy();
    }
    const failed = rows.filter((row) => row.status === 'failed').map((row) => row.error_code);
    expect(failed).toContain('21211');
    expect(failed).toContain('21614');
    const sentCount = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' }).count('* as count');
    expect(Number(sentCount[0]?.count)).toBe(rows.filter((row) => row.status !== 'failed').length);
    expect(await messageCounts(running, first.campaignId)).not.toHaveProperty('queued');
  }, 90_000);
});

describe('provider timeouts', () => {
  let running: TestApp;
  let senderId: string;
  const leaseMs = 2500;
  beforeAll(async () => {
    running = await startTestApp({ TWILIO_TIMEOUT_MS: '500', DISPATCH_LEASE_MS: String(leaseMs) }, { worker: true });
    senderId = (await readyAccount(running)).senderId;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('reconciles a send whose answer timed out after the provider took it: sent once, never twice', async () => {
    const numbers = Array.from({ length: 10 }, (_, index) => `+1415204${String(index).padStart(4, '0')}`);
    const slow = numbers.slice(0, 3);
    // The sandbox takes these messages, but answers after 1.5 s, long after the client's 500 ms timeout.
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // No status callbacks: one arriving while the message is still "sending" would record it (rightly) before
      // reconciliation, which is what this test is about.
      body: JSON.stringify({
        slowNumbers: Object.fromEntries(slow.map((phone) => [phone, 1500])),
        callbackDelayMs: -1,
      }),
    });
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
    );
    await waitForCampaign(running, created.campaignId, 'completed', 60_000);

    const outbound = await running.app.db('sandbox_messages').whereIn('to', numbers).select('to', 'sid');
    expect(outbound.map((row) => row.to).sort()).toEqual([...numbers].sort());
    const counts = await messageCounts(running, created.campaignId);
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(10);
    // The slow ones were recorded by reconciliation after the lease, not by the (lost) answer.
    for (const row of outbound.filter((sent) => slow.includes(sent.to))) {
      const tracked = await running.app
        .db('campaign_messages')
        .where({ account_id: 'default', provider_message_id: row.sid })
        .first('message_id');
      const events = await running.app.store.read(`message-${tracked.message_id}`);
      const types = events.map((event) => event.type);
      expect(types.slice(0, 3)).toEqual(['MessageQueued', 'MessageSendStarted', 'MessageSent']);
      const started = events[1]!.data as { startedAt: string };
      const sent = events[2]!.data as { sentAt: string; providerMessageId: string };
      expect(sent.providerMessageId).toBe(row.sid);
      expect(Date.parse(sent.sentAt) - Date.parse(started.startedAt)).toBeGreaterThanOrEqual(leaseMs);
    }
  }, 90_000);
});
