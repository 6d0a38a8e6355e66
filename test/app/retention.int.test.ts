import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.ts';
import { setRetentionPeriod } from '../../src/app/account-settings.ts';
import { createSmsCampaign } from '../../src/app/campaigns.ts';
import { shredExpiredCampaigns } from '../../src/app/retention.ts';
import { WEEKDAYS, type WeeklyWindow } from '../../src/domain/account-settings.ts';
import { gdprDeps } from '../../src/http/api/gdpr.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { replayProjection } from '../../src/projections/replay.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { messageCounts, phone, readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { committedHead, startTestApp, type TestApp } from '../support/app.ts';
import { decryptAll, everyEvent, everyTable, findings } from '../support/sealed.ts';

/**
 * F14 retention: a finished campaign past the account's retention period has its recipients' numbers, variables
 * and message texts shredded (its key deleted, read models and provider copies dropped), its counts and statuses
 * kept; the consumer's other campaigns and their replies stay readable; a replay from position 0 still redacts.
 */
let running: TestApp;
let senderId: string;
const SENDER = '+14155550100';
const DAY_MS = 86_400_000;
const LATER_DAY = WEEKDAYS[(new Date().getUTCDay() + 6 + 3) % 7];
const CLOSED = Object.fromEntries(
  WEEKDAYS.map((day) => [day, day === LATER_DAY ? { start: '03:00', end: '03:01' } : null]),
) as WeeklyWindow;

const consumerA = phone(9200);
const consumerB = phone(9201);
const OLD_SECRETS = ['Zanzibar-A-3141', 'Zanzibar-B-2718'];
const KEPT_SECRET = 'Kept-C-1618';
const REPLY = 'my reply 9090';

const deps = () => ({ ...gdprDeps(running.app), log: silentLogger });

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
});
afterAll(async () => {
  await running?.close();
});

function campaign(recipients: { phone: string; variables: Record<string, string> }[], window?: WeeklyWindow) {
  return createSmsCampaign(
    { ...running.app, personalData: running.app.channels.personalData },
    {
      accountId: 'default',
      name: window ? 'Still waiting' : 'Order ready',
      senderId,
      text: 'Hi ${{1}}, your order is ready.',
      source: 'api',
      consent: true,
      recipients,
      publish: true,
      ...(window ? { window } : {}),
    },
    SYSTEM,
  );
}

async function caughtUp() {
  const head = await committedHead(running.app.db);
  const names = projections.map((projection) => projection.name);
  expect(await waitForProjection(running.app.db, names, head!, { timeoutMs: 20_000 })).toBe(true);
}

async function finishedAt(campaignId: string): Promise<number> {
  const row = await running.app.db('campaigns').where({ campaign_id: campaignId }).first('finished_at');
  return new Date(row.finished_at).getTime();
}

describe('retention of finished campaigns', () => {
  let old: string;
  let waiting: string;
  let countsBefore: Record<string, number>;

  it('shreds nothing while the account has no retention period, or before the period is over', async () => {
    old = (
      await campaign([
        { phone: consumerA, variables: { 1: 'Zanzibar-A-3141' } },
        { phone: consumerB, variables: { 1: 'Zanzibar-B-2718' } },
      ])
    ).campaignId;
    await waitForCampaign(running, old);
    waiting = (await campaign([{ phone: consumerA, variables: { 1: KEPT_SECRET } }], CLOSED)).campaignId;
    const reply = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: consumerB, to: SENDER, body: REPLY }),
    });
    expect(reply.status).toBe(201);
    await caughtUp();
    countsBefore = await messageCounts(running, old);
    expect(countsBefore).toEqual({ delivered: 1, responded: 1 });

    const farFuture = new Date(Date.now() + 10_000 * DAY_MS);
    expect(await shredExpiredCampaigns(deps(), farFuture)).toBe(0);
    await setRetentionPeriod(running.app, { accountId: 'default', days: 30 }, SYSTEM);
    const almost = new Date((await finishedAt(old)) + 30 * DAY_MS - 1000);
    expect(await shredExpiredCampaigns(deps(), almost)).toBe(0);
    // Before: the scan finds the secrets, so finding none afterwards means something.
    const all = [...[...(await everyTable(running)).values()].flat(), ...(await everyEvent(running))];
    expect(findings(await decryptAll(running, all), [...OLD_SECRETS, KEPT_SECRET, REPLY])).toEqual(
      expect.arrayContaining([...OLD_SECRETS, KEPT_SECRET, REPLY]),
    );
    expect(findings((await everyTable(running)).get('sandbox_messages')!, OLD_SECRETS)).not.toHaveLength(0);
  });

  it('after the period, no table and no event yields its variables or texts; counts and other data stay', async () => {
    const after = new Date((await finishedAt(old)) + 30 * DAY_MS + 1000);
    expect(await shredExpiredCampaigns(deps(), after)).toBe(1);
    // Done once: a second run finds nothing to do.
    expect(await shredExpiredCampaigns(deps(), after)).toBe(0);
    await caughtUp();

    const tables = await everyTable(running);
    const all = [...[...tables.values()].flat(), ...(await everyEvent(running))];
    expect(findings(all, OLD_SECRETS)).toEqual([]);
    const opened = await decryptAll(running, all);
    expect(findings(opened, OLD_SECRETS)).toEqual([]);
    // The unfinished campaign's copy and the consumer's own reply still open: the scan and the keys work.
    expect(findings(opened, [KEPT_SECRET, REPLY])).toEqual(expect.arrayContaining([KEPT_SECRET, REPLY]));
    // The provider's copies of the campaign's messages are gone; the reply (not the campaign's) stays.
    expect(findings(tables.get('sandbox_messages')!, OLD_SECRETS)).toEqual([]);
    expect(findings(tables.get('sandbox_messages')!, [REPLY])).toHaveLength(1);

    expect(await messageCounts(running, old)).toEqual(countsBefore);
    const row = await running.app.db('campaigns').where({ campaign_id: old }).first();
    expect(row).toMatchObject({ status: 'completed', recipient_count: 2 });
    expect(row.personal_data_shredded_at).not.toBeNull();
    expect(await running.app.db('campaign_messages').where({ campaign_id: old }).whereNotNull('sealed')).toEqual([]);
    const lines = await running.app.db('conversation_messages').orderBy('at').select('direction', 'sealed');
    expect(lines.map((line) => [line.direction, line.sealed === ''])).toEqual([
      ['proactive', true],
      ['in', false],
    ]);
    expect((await messageCounts(running, waiting)).deferred).toBe(1);
    expect(
      await running.app.db('campaigns').where({ campaign_id: waiting }).first('personal_data_shredded_at'),
    ).toEqual({ personal_data_shredded_at: null });
  });

  it('replays every projection from position 0: it still works and still redacts', async () => {
    const before = await everyTable(running);
    for (const projection of projections) {
      await replayProjection(running.app.db, running.app.store, projection, { log: silentLogger });
    }
    await caughtUp();
    const after = await everyTable(running);
    for (const projection of projections) {
      for (const table of projection.tables) {
        expect(new Set(after.get(table)), table).toEqual(new Set(before.get(table)));
      }
    }
    const all = [...[...after.values()].flat(), ...(await everyEvent(running))];
    expect(findings(await decryptAll(running, all), OLD_SECRETS)).toEqual([]);
    expect(await messageCounts(running, old)).toEqual(countsBefore);
  });
});
