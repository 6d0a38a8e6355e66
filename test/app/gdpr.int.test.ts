import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.ts';
import { addSender } from '../../src/app/account-settings.ts';
import { createSmsCampaign, publishCampaign } from '../../src/app/campaigns.ts';
import { sendAgentReply } from '../../src/app/conversations.ts';
import { erasureStatus, requestErasure } from '../../src/app/gdpr.ts';
import { exportConsumer } from '../../src/app/gdpr-export.ts';
import { WEEKDAYS, type WeeklyWindow } from '../../src/domain/account-settings.ts';
import { gdprDeps } from '../../src/http/api/gdpr.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { replayProjection } from '../../src/projections/replay.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { messageCounts, phone, readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { committedHead, startTestApp, type TestApp } from '../support/app.ts';
import * as scan from '../support/sealed.ts';
import { findings } from '../support/sealed.ts';

/**
 * F14 erasure end to end, with the dispatcher and the sandbox running: after it, no table and no event yields the
 * consumer's number, variables or texts in any form that any remaining key opens, counts and statuses survive,
 * and every projection replayed from position 0 still redacts.
 */
let running: TestApp;
let senderId: string;
const SENDER = '+14155550100';
// Open one minute, three days from now: a message queued today waits for it.
const LATER_DAY = WEEKDAYS[(new Date().getUTCDay() + 6 + 3) % 7];
const CLOSED = Object.fromEntries(
  WEEKDAYS.map((day) => [day, day === LATER_DAY ? { start: '03:00', end: '03:01' } : null]),
) as WeeklyWindow;

const victim = phone(9100);
const bystander = phone(9101);
const SECRETS = ['Zanzibar-7731', 'my secret reply 4242', 'agent secret 5151'];
const victimForms = [victim, victim.slice(1)];

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
});
afterAll(async () => {
  await running?.close();
});

const deps = () => ({ ...running.app, personalData: running.app.channels.personalData });

function campaign(
  recipients: { phone: string; variables: Record<string, string> }[],
  extra: { publish?: boolean; window?: WeeklyWindow; name?: string; senderId?: string } = {},
) {
  return createSmsCampaign(
    deps(),
    {
      accountId: 'default',
      name: extra.name ?? 'Order ready',
      senderId: extra.senderId ?? senderId,
      text: 'Hi ${{1}}, your order is ready.',
      source: 'api',
      consent: true,
      recipients,
      publish: extra.publish ?? true,
      ...(extra.window ? { window: extra.window } : {}),
    },
    SYSTEM,
  );
}

function reply(from: string, body: string) {
  return fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: SENDER, body }),
  });
}

async function caughtUp() {
  const head = await committedHead(running.app.db);
  const names = projections.map((projection) => projection.name);
  expect(await waitForProjection(running.app.db, names, head!, { timeoutMs: 20_000 })).toBe(true);
}

async function waitUntilDone(erasureId: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await erasureStatus(gdprDeps(running.app), 'default', erasureId);
    if (state.status === 'done') return state;
    if (Date.now() > deadline) expect.fail(`erasure ${erasureId} still ${state.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const everyTable = () => scan.everyTable(running);
const everyEvent = () => scan.everyEvent(running);
const decryptAll = (texts: string[]) => scan.decryptAll(running, texts);

describe('erasure by crypto-shredding', () => {
  let erasedCampaign: string;
  let draftCampaign: string;
  let deferredCampaign: string;
  let conversationId: string;
  let countsBefore: Record<string, number>;

  it('erases the number, the variables and every text, keeps counts and statuses, and skips what waits', async () => {
    const sent = await campaign([
      { phone: victim, variables: { 1: 'Zanzibar-7731' } },
      { phone: bystander, variables: { 1: 'Bystander-1188' } },
    ]);
    erasedCampaign = sent.campaignId;
    await waitForCampaign(running, erasedCampaign);
    // A draft to publish after the erasure (its messages are queued later), and one waiting for its window.
    draftCampaign = (await campaign([{ phone: victim, variables: { 1: 'Zanzibar-7731' } }], { publish: false }))
      .campaignId;
    deferredCampaign = (
      await campaign([{ phone: victim, variables: { 1: 'Zanzibar-7731' } }], { window: CLOSED, name: 'Later' })
    ).campaignId;
    const deferDeadline = Date.now() + 20_000;
    while ((await messageCounts(running, deferredCampaign)).deferred !== 1) {
      if (Date.now() > deferDeadline) expect.fail('the message was never deferred');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await reply(victim, 'my secret reply 4242')).status).toBe(201);
    await caughtUp();
    const conversation = await running.app.db('conversations').where({ account_id: 'default' }).first();
    conversationId = conversation.conversation_id;
    await sendAgentReply(
      { ...deps(), providers: running.app.channels.providers },
      { accountId: 'default', conversationId, agentId: 'agent-1', text: 'agent secret 5151' },
      SYSTEM,
    );
    await caughtUp();
    countsBefore = await messageCounts(running, erasedCampaign);
    expect(countsBefore).toEqual({ responded: 1, delivered: 1 });

    // Before: the scan finds the victim, so finding nothing afterwards means something.
    const tablesBefore = [...(await everyTable()).values()].flat();
    expect(findings(tablesBefore, [victim])).not.toHaveLength(0);
    expect(findings(await decryptAll([...tablesBefore, ...(await everyEvent())]), SECRETS)).toEqual(
      expect.arrayContaining(SECRETS),
    );

    const { erasureId } = await requestErasure(gdprDeps(running.app), 'default', { phone: victim }, SYSTEM);
    const done = await waitUntilDone(erasureId);
    expect(done.completedAt).not.toBeNull();
    await publishCampaign(deps(), { accountId: 'default', campaignId: draftCampaign }, SYSTEM);
    await waitForCampaign(running, draftCampaign);
    await waitForCampaign(running, deferredCampaign);
    await caughtUp();

    // The dispatcher skips the later-queued message (the key is gone); the erasure skipped the deferred one.
    const skipped = await running.app
      .db('campaign_messages')
      .whereIn('campaign_id', [draftCampaign, deferredCampaign])
      .select('status', 'reason');
    expect(skipped).toEqual([
      { status: 'skipped', reason: 'erased' },
      { status: 'skipped', reason: 'erased' },
    ]);
    expect(await messageCounts(running, erasedCampaign)).toEqual(countsBefore);
    const closed = await running.app.db('conversations').where({ conversation_id: conversationId }).first();
    expect(closed).toMatchObject({ status: 'closed', close_reason: 'consumer-erased', sealed_phone: null });
    expect(await running.app.db('conversation_messages').where({ conversation_id: conversationId })).toHaveLength(3);

    const tables = await everyTable();
    const events = await everyEvent();
    const all = [...[...tables.values()].flat(), ...events];
    expect(findings(all, [...victimForms, ...SECRETS])).toEqual([]);
    const opened = await decryptAll(all);
    expect(findings(opened, [...victimForms, ...SECRETS])).toEqual([]);
    // The bystander's data is untouched and still opens: the scan and the keys work.
    expect(findings(opened, ['Bystander-1188'])).not.toHaveLength(0);
    expect(findings(tables.get('sandbox_messages')!, [bystander])).not.toHaveLength(0);
  });

  it('replays every projection from position 0: it still works and still redacts', async () => {
    const before = await everyTable();
    for (const projection of projections) {
      await replayProjection(running.app.db, running.app.store, projection, { log: silentLogger });
    }
    await caughtUp();
    const after = await everyTable();
    for (const projection of projections) {
      for (const table of projection.tables) {
        expect(new Set(after.get(table)), table).toEqual(new Set(before.get(table)));
      }
    }
    const all = [...[...after.values()].flat(), ...(await everyEvent())];
    expect(findings(all, [...victimForms, ...SECRETS])).toEqual([]);
    expect(findings(await decryptAll(all), [...victimForms, ...SECRETS])).toEqual([]);
    expect(await messageCounts(running, erasedCampaign)).toEqual(countsBefore);
  });

  it('exports nothing of the erased consumer any more', async () => {
    const document = await exportConsumer(deps(), 'default', { phone: victim }, SYSTEM);
    const text = JSON.stringify(document);
    expect(findings([text], [...victimForms, ...SECRETS])).toEqual([]);
    // What stays is what holds no personal data: statuses, and that it was erased.
    expect(document.campaignMessages.map((row) => row.status).sort()).toEqual(['responded', 'skipped', 'skipped']);
    expect(document.events.some((event) => event.type === 'ConsumerErased')).toBe(true);
  });

  it('lets the number come back as a new consumer: a reply opens a fresh conversation, STOP is honoured', async () => {
    expect((await reply(victim, 'hello again')).status).toBe(201);
    await caughtUp();
    const rows = await running.app.db('conversations').where({ account_id: 'default' }).orderBy('opened_at');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ status: 'open', routing: 'default-skill' });
    const [line] = await running.app.db('conversation_messages').where({ conversation_id: rows[1].conversation_id });
    const text = await running.app.channels.personalData.openFor<{ text: string }>(
      'default',
      rows[1].consumer_ref,
      line.sealed,
    );
    expect(text).toEqual({ text: 'hello again' });
    expect((await reply(victim, 'STOP')).status).toBe(201);
    await caughtUp();
    expect(await running.app.db('opt_outs').where({ consumer_ref: rows[1].consumer_ref }).first('opted_out')).toEqual({
      opted_out: true,
    });
  });
});

describe('erasure while the campaign is mid-send', () => {
  it('sends nothing to the consumer after the erasure is acknowledged', async () => {
    const target = phone(9200);
    const others = [9201, 9202, 9203, 9204, 9205].map(phone);
    // A long code's 1 message a second keeps the campaign sending while the erasure runs; a slow answer for the
    // consumer widens the window in which their message is in flight.
    const slowSender = await addSender(
      running.app,
      { accountId: 'default', channel: 'sms', address: '+14155550199', rate: 1 },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'account-settings', slowSender.position!, { timeoutMs: 5000 });
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slowNumbers: { [target]: 300 } }),
    });
    const created = await campaign(
      [...others, target].map((number, index) => ({ phone: number, variables: { 1: `Mid-${index}` } })),
      { name: 'Mid-send', senderId: slowSender.senderId },
    );
    const startDeadline = Date.now() + 20_000;
    while ((await running.app.db('sandbox_messages').whereIn('to', [...others, target])).length === 0) {
      if (Date.now() > startDeadline) expect.fail('the campaign never started sending');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const campaignRow = await running.app.db('campaigns').where({ campaign_id: created.campaignId }).first('status');
    expect(campaignRow.status).toBe('in_progress');
    await requestErasure(gdprDeps(running.app), 'default', { phone: target }, SYSTEM);
    await waitForCampaign(running, created.campaignId);
    // Whatever went out before the acknowledgement was deleted with it; anything later would still be here.
    expect(await running.app.db('sandbox_messages').where({ to: target })).toEqual([]);
    const row = await running.app
      .db('campaign_messages')
      .where({ campaign_id: created.campaignId, seq: others.length })
      .first('status', 'reason');
    expect(['skipped', 'sent', 'delivered']).toContain(row.status);
    if (row.status === 'skipped') expect(row.reason).toBe('erased');
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slowNumbers: {} }),
    });
  });
});

describe('erasure of an unknown number', () => {
  it('answers an erasure id that becomes done, and changes nothing', async () => {
    await caughtUp();
    const head = await committedHead(running.app.db);
    const ref = await running.app.channels.personalData.consumerRef('default', phone(9999));
    const keys = await running.app.db('consumer_keys').count({ n: '*' }).first();
    const { erasureId } = await requestErasure(gdprDeps(running.app), 'default', { phone: phone(9999) }, SYSTEM);
    expect(erasureId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await waitUntilDone(erasureId)).status).toBe('done');
    // What an erasure could write: none of it. (Late status callbacks of earlier campaigns may still append.)
    const since = await running.app.store.readAll(head, 10_000);
    expect(since.filter((event) => event.streamId.includes(ref) || event.type === 'ConsumerErased')).toEqual([]);
    expect(since.filter((event) => event.metadata.actor === SYSTEM.actor)).toEqual([]);
    expect(await running.app.db('consumer_keys').count({ n: '*' }).first()).toEqual(keys);
  });
});
