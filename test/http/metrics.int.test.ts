import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOutcomesProjection } from '../../projections/message-outcomes.ts';
import { createDb, migrateLatest } from '../../src/infra/db.ts';
import { phone, readyAccount, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';
import { applyOnce, applyTwice, recorded } from '../support/projections.ts';

/** /metrics as an operator's Prometheus scrapes it: the standard Node.js series, and the product's own. */
let running: TestApp;
let senderId: string;

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
});
afterAll(async () => {
  await running?.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(`${running.baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one series, by its name and exact labels (in any order); undefined when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.keys(found).length !== Object.keys(labels).length) continue;
    if (Object.entries(labels).every(([key, wanted]) => found[key] === wanted)) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('keeps the Node.js and process metrics under their standard names, and prefixes only the product’s', async () => {
    const text = await scrape();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(text).not.toMatch(/^# TYPE outbound_(process|nodejs)_/m);
    const product = [...text.matchAll(/^# TYPE (\S+) /gm)]
      .map((match) => match[1]!)
      .filter((name) => !/^(process|nodejs)_/.test(name));
    expect(product.length).toBeGreaterThan(5);
    for (const name of product) expect(name).toMatch(/^outbound_/);
    // Defined for the channel adapters to observe.
    expect(text).toMatch(/^# TYPE outbound_provider_request_duration_seconds histogram$/m);
  });

  it('counts messages by channel and outcome: sent, failed by code, skipped by reason', async () => {
    const [sent, failing, stopping] = [phone(8100), phone(8101), phone(8102)];
    const post = (path: string, body: unknown) =>
      fetch(`${running.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/sandbox/faults', { failNumbers: { [failing]: 21211 } })).status).toBeLessThan(300);
    const stop = await post('/sandbox/phone/reply', { from: stopping, to: '+14155550100', body: 'STOP' });
    expect(stop.status).toBeLessThan(300);
    const before = await scrape();
    const count = (text: string, labels: Record<string, string>) =>
      value(text, 'outbound_message_outcomes_total', {
        channel: 'sms',
        code: '',
        reason: '',
        retryable: 'false',
        ...labels,
      }) ?? 0;

    const { campaignId } = await sendCampaign(running, senderId, [
      { phone: sent },
      { phone: failing },
      { phone: stopping },
    ]);
    await waitForCampaign(running, campaignId);
    await projectionsAtHead(running);
    const after = await scrape();
    expect(count(after, { outcome: 'sent' }) - count(before, { outcome: 'sent' })).toBe(1);
    expect(
      count(after, { outcome: 'failed', code: '21211' }) - count(before, { outcome: 'failed', code: '21211' }),
    ).toBe(1);
    expect(
      count(after, { outcome: 'skipped', reason: 'opted-out' }) -
        count(before, { outcome: 'skipped', reason: 'opted-out' }),
    ).toBe(1);
    expect(after).toMatch(/^# TYPE outbound_message_outcomes_total counter$/m);
    // Every provider request is timed: the accepted send, and the one Twilio refused for good (21211).
    const requests = (text: string, outcome: string) =>
      value(text, 'outbound_provider_request_duration_seconds_count', { channel: 'sms', outcome }) ?? 0;
    expect(requests(after, 'ok') - requests(before, 'ok')).toBeGreaterThanOrEqual(1);
    expect(requests(after, 'permanent') - requests(before, 'permanent')).toBe(1);
  });

  it('shows projection lag in seconds: 0 when caught up, above 0 while a projection is stopped', async () => {
    // Caught up: the app's own work (a late status callback of the test before) may append between any two
    // looks, so wait for a scrape in which all four read 0, rather than expect the first to.
    const names = ['accounts', 'campaigns', 'message-outcomes', 'dispatch-queue'];
    const lags = (text: string) =>
      names.map((name) => value(text, 'outbound_projection_lag_seconds', { projection: name }));
    let caughtUp = lags(await scrape());
    for (const deadline = Date.now() + 20_000; caughtUp.some((lag) => lag !== 0) && Date.now() < deadline; ) {
      await projectionsAtHead(running);
      caughtUp = lags(await scrape());
    }
    expect(caughtUp).toEqual([0, 0, 0, 0]);
    await running.app.runner!.stop();
    try {
      await running.app.store.append(
        `test-lag-${randomUUID()}`,
        [
          {
            type: 'AccountCreated',
            data: { accountId: 'lagging', name: 'Lag', defaultTimeZone: 'UTC' },
            metadata: { correlationId: 'c', causationId: null, actor: 'test' },
          },
        ],
        'no_stream',
      );
      const lagging = await scrape();
      expect(value(lagging, 'outbound_projection_lag_seconds', { projection: 'accounts' })).toBeGreaterThan(0);
    } finally {
      await running.app.runner!.start();
    }
  });

  it('reports the dispatch queue’s depth and oldest due message, and failing webhook deliveries', async () => {
    const db = running.app.db;
    const now = Date.now();
    // Rows as the dispatch-queue projection and the webhook reactor write them, for one scrape.
    const queued = [
      { not_before: new Date(now - 90_000), lease_until: null, state: 'queued' },
      { not_before: new Date(now - 10_000), lease_until: null, state: 'retrying' },
      { not_before: new Date(now - 500_000), lease_until: new Date(now + 60_000), state: 'sending' },
      { not_before: new Date(now + 3_600_000), lease_until: null, state: 'deferred' },
    ].map((row) => ({ ...row, account_id: 'metrics', message_id: randomUUID(), campaign_id: 'c1' }));
    await db('dispatch_queue').insert(queued);
    const delivery = (status: string, attempts: number) => ({
      event_id: randomUUID(),
      account_id: 'metrics',
      payload: '{}',
      status,
      attempts,
      // Not due for an hour: the app's webhook worker leaves them alone until the scrape has read them.
      next_attempt_at: new Date(now + 3_600_000),
      created_at: new Date(),
    });
    await db('webhook_deliveries').insert([delivery('pending', 0), delivery('pending', 2), delivery('failed', 12)]);
    try {
      const text = await scrape();
      for (const state of ['queued', 'retrying', 'sending', 'deferred']) {
        expect(value(text, 'outbound_dispatch_queue_messages', { state })).toBe(1);
      }
      // Due and free: the queued and the retrying one; the leased one is a worker's, the deferred one not due.
      expect(value(text, 'outbound_dispatch_queue_due_messages')).toBe(2);
      const oldest = value(text, 'outbound_dispatch_queue_oldest_due_seconds')!;
      expect(oldest).toBeGreaterThanOrEqual(90);
      expect(oldest).toBeLessThan(400);
      expect(value(text, 'outbound_webhook_deliveries_failing', { state: 'retrying' })).toBe(1);
      expect(value(text, 'outbound_webhook_deliveries_failing', { state: 'gave_up' })).toBe(1);
    } finally {
      await db('dispatch_queue').where({ account_id: 'metrics' }).delete();
      await db('webhook_deliveries').where({ account_id: 'metrics' }).delete();
    }
  });
});

describe('the message-outcomes read model', () => {
  it('sums outcomes per channel, code and reason, and counts an event applied twice once', async () => {
    const ids = { accountId: 'a', campaignId: 'c', messageId: 'c.1' };
    const events = [
      recorded('MessageSent', { ...ids, providerMessageId: 'SM1', sentAt: '2026-11-24T12:00:00Z' }),
      recorded('MessageSent', { ...ids, providerMessageId: 'SM2', sentAt: '2026-11-24T12:00:00Z' }),
      recorded('MessageSendFailed', {
        ...ids,
        attempt: 1,
        retryable: true,
        code: '20429',
        message: 'Too many requests',
        source: 'provider',
        retryAt: '2026-11-24T12:01:00Z',
      }),
      recorded('MessageSendFailed', {
        ...ids,
        attempt: 2,
        retryable: false,
        code: '21211',
        message: 'Invalid number',
        source: 'provider',
        retryAt: null,
      }),
      recorded('MessageSkipped', { ...ids, reason: 'opted-out', detail: null }),
      recorded('MessageDeferred', { ...ids, until: '2026-11-25T08:00:00Z', zones: ['America/Los_Angeles'] }),
    ];
    const database = await createTestDatabase('outcomes');
    const db = createDb(database.url, { poolMax: 2 });
    try {
      await migrateLatest(db);
      const rowsOf = async () =>
        (
          await db('message_outcome_totals')
            .orderBy(['outcome', 'code'])
            .select('channel', 'outcome', 'code', 'reason', 'retryable', 'total')
        ).map((row) => ({ ...row, total: Number(row.total) }));
      await applyOnce(messageOutcomesProjection, db, events);
      const once = await rowsOf();
      // The batch again, as a redelivery would: nothing more is counted.
      await applyOnce(messageOutcomesProjection, db, events);
      expect(await rowsOf()).toEqual(once);
      await db('message_outcome_totals').delete();
      await applyTwice(messageOutcomesProjection, db, events);
      expect(await rowsOf()).toEqual(once);
      const rows = once;
      expect(rows).toEqual([
        { channel: 'sms', outcome: 'deferred', code: '', reason: '', retryable: false, total: 1 },
        { channel: 'sms', outcome: 'failed', code: '20429', reason: '', retryable: true, total: 1 },
        { channel: 'sms', outcome: 'failed', code: '21211', reason: '', retryable: false, total: 1 },
        { channel: 'sms', outcome: 'sent', code: '', reason: '', retryable: false, total: 2 },
        { channel: 'sms', outcome: 'skipped', code: '', reason: 'opted-out', retryable: false, total: 1 },
      ]);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
});
