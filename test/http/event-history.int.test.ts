import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageCounts, phone, readyAccount, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { eventually, projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** F21 grown: filters by campaign, recipient (through the HMAC ref), user and time; admin rebuilds with progress. */
let running: TestApp;
let admin: WebSession;
let campaignId: string;

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  const { senderId } = await readyAccount(running);
  const created = await sendCampaign(running, senderId, [{ phone: phone(9700) }, { phone: phone(9701) }], 'Hello', {
    name: 'History',
  });
  campaignId = created.campaignId;
  await waitForCampaign(running, campaignId);
  // The sandbox's status callbacks keep appending after the campaign completes (sent, then delivered), and the
  // history page reads the audit read model: the history is final once both messages are delivered and every
  // read model has applied that.
  await eventually(async () => (await messageCounts(running, campaignId)).delivered === 2, 'both messages delivered');
  await projectionsAtHead(running);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

const typesOn = (html: string) => [...html.matchAll(/data-type="(\w+)"/g)].map((match) => match[1]!);
const streamsOn = (html: string) => [...html.matchAll(/class="stream"><a [^>]*>([^<]+)</g)].map((match) => match[1]!);

describe('event history filters', () => {
  it('filters by campaign, by recipient number (never stored in events) and by time', async () => {
    const byCampaign = await admin.get(`/events?campaign=${campaignId}`);
    const types = typesOn(byCampaign.html);
    expect(types).toContain('CampaignDrafted');
    expect(types).toContain('MessageSent');
    expect(types).not.toContain('SenderAdded');

    const messages = await running.app.db('campaign_messages').where({ campaign_id: campaignId }).orderBy('seq');
    const byRecipient = await admin.get(`/events?recipient=${encodeURIComponent(phone(9700))}`);
    const streams = new Set(streamsOn(byRecipient.html));
    expect(streams).toEqual(new Set([`message-${messages[0]!.message_id}`]));
    expect(typesOn(byRecipient.html)).toEqual(
      expect.arrayContaining(['MessageQueued', 'MessageSendStarted', 'MessageSent']),
    );
    // The events shown hold no number: only the filter box echoes what was typed.
    const shown = [...byRecipient.html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((match) => match[1]).join('\n');
    expect(shown.length).toBeGreaterThan(0);
    expect(shown).not.toContain(phone(9700).slice(2));

    const bad = await admin.get('/events?recipient=hello');
    expect(bad.html).toContain('is not a phone number');
    expect(typesOn(bad.html)).toEqual([]);

    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect(typesOn((await admin.get(`/events?from=${tomorrow}`)).html)).toEqual([]);
    expect(typesOn((await admin.get(`/events?to=${tomorrow}&campaign=${campaignId}`)).html).length).toBe(types.length);
  });

  it('lets an admin rebuild a read model from the page and watch it finish', async () => {
    const page = await admin.get('/events');
    expect(page.html).toContain('id="replay"');
    const started = await admin.post('/events/replay', { projection: 'campaign-messages' });
    expect(started.status).toBe(303);
    expect(started.location).toBe('/events/replays');
    let progress = await admin.get('/events/replays/progress');
    await eventually(async () => {
      progress = await admin.get('/events/replays/progress');
      return progress.html.includes('data-status="done"');
    }, 'the rebuild shown as done');
    expect(progress.html).toMatch(/data-replay="campaign-messages" data-status="done"/);
    expect(await running.app.db('campaign_messages').where({ campaign_id: campaignId }).count('* as count')).toEqual([
      { count: '2' },
    ]);
    expect((await admin.post('/events/replay', { projection: 'nonsense' })).status).toBe(400);
  });
});
