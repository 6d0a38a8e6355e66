import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { addUser } from '../../src/app/accounts.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** F17 handoffs and B6 webhook deliveries in the web tool (server-rendered pages, through HTTP with a session). */
let running: TestApp;
let admin: WebSession;
let agent: WebSession;

beforeAll(async () => {
  running = await startTestApp({ WEBHOOK_MAX_ATTEMPTS: '1' }, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  const added = await addUser(
    running.app,
    { accountId: 'default', email: 'agent@outbound.test', role: 'agent', password: 'agent password 1' },
    SYSTEM,
  );
  await waitForProjection(running.app.db, ['users', 'account-settings'], added.position!, { timeoutMs: 5000 });
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  agent = new WebSession(running.baseUrl);
  expect((await agent.login('agent@outbound.test', 'agent password 1')).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

const handoffForm = (overrides: Record<string, string> = {}) => ({
  name: 'Order ready',
  skill: 'Sales',
  lookbackPeriodDay: '7',
  lookbackPeriodHour: '0',
  outboundnumber: '+14155550100',
  content: 'Hi ${{1}}, your order is ready.',
  optOut: 'Reply STOP to opt out.',
  ...overrides,
});

describe('API handoffs in the web tool', () => {
  it('starts empty, refuses a bad form naming the field and keeping the input, then creates, edits and archives', async () => {
    const empty = await admin.get('/handoffs');
    expect(empty.status).toBe(200);
    expect(empty.html).toContain('No handoffs yet.');
    expect((await admin.get('/handoffs/new')).html).toContain('+14155550100');

    const tooLong = await admin.post('/handoffs', handoffForm({ content: 'x'.repeat(130) }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain('at most 140 fit one segment');
    expect(tooLong.html).toMatch(/name="content"[^>]*aria-invalid=true/);
    expect(tooLong.html).toContain('value="Order ready"');

    const created = await admin.post('/handoffs', handoffForm());
    expect(created.status).toBe(303);
    const list = await admin.get(created.location!);
    expect(list.html).toContain('data-handoff="Order ready"');
    const handoffId = /\/handoffs\/([0-9a-f]+)\/edit/.exec(list.html)![1]!;

    const taken = await admin.post('/handoffs', handoffForm({ name: 'ORDER READY' }));
    expect(taken.status).toBe(409);
    expect(taken.html).toMatch(/name="name"[^>]*aria-invalid=true/);

    const edit = await admin.get(`/handoffs/${handoffId}/edit`);
    expect(edit.html).toContain('Hi ${{1}}, your order is ready.');
    const saved = await admin.post(
      `/handoffs/${handoffId}`,
      handoffForm({ name: 'Order shipped', lookbackPeriodDay: '3' }),
    );
    expect(saved.status).toBe(303);
    const events = await running.app.store.read(`handoff-${handoffId}`);
    expect(events.map((event) => event.type)).toEqual(['HandoffCreated', 'HandoffUpdated']);
    expect(events[1]!.data).toMatchObject({ config: { name: 'Order shipped', lookbackPeriodDay: 3, skill: 'Sales' } });
    expect(events[1]!.metadata.actor).not.toBe('test');

    const archived = await admin.post(`/handoffs/${handoffId}/archive`, {});
    expect(archived.status).toBe(303);
    expect((await admin.get(archived.location!)).html).toContain('No handoffs yet.');
    // The archived name is free again.
    expect((await admin.post('/handoffs', handoffForm({ name: 'Order shipped' }))).status).toBe(303);
  });

  it('shows handoffs to a read-only role without edit controls, and refuses its forged posts', async () => {
    const page = await agent.get('/handoffs');
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('New handoff');
    expect(page.html).not.toContain('/archive');
    const before = await running.app.store.headPosition();
    const forged = await agent.post('/handoffs', handoffForm({ name: 'Forged' }));
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('Your role does not allow this');
    expect((await agent.get('/handoffs/new')).status).toBe(403);
    const since = await running.app.store.readAll(before, 1000);
    expect(since.filter((event) => event.streamId.startsWith('handoff-'))).toEqual([]);
  });
});

describe('status webhook in the web tool', () => {
  it('sets the URL showing the secret once, and lists deliveries that gave up, which an admin sends again', async () => {
    const none = await admin.get('/settings/webhooks');
    expect(none.html).toContain('No webhook yet.');
    expect(none.html).toContain('id="no-failed"');
    expect((await admin.post('/settings/webhooks', { url: 'not a url' })).status).toBe(400);

    // Nothing listens here, and one attempt is all this app makes: every delivery fails.
    const set = await admin.post('/settings/webhooks', { url: 'http://127.0.0.1:9/outbound' });
    expect(set.status).toBe(200);
    expect(set.html).toMatch(/id="webhook-secret"[\s\S]*whsec_/);
    expect((await admin.get('/settings/webhooks')).html).not.toContain('whsec_');

    const created = await sendCampaign(running, (await readySender()).senderId, [{ phone: phone(7000) }]);
    await waitForCampaign(running, created.campaignId);
    let page = await admin.get('/settings/webhooks');
    await eventually(async () => {
      page = await admin.get('/settings/webhooks');
      return page.html.includes('id="failed-deliveries"');
    }, 'the failed delivery is listed');
    expect(page.html).toContain('id="failed-deliveries"');
    expect(page.html).toContain('SENT');
    const eventId = /deliveries\/([0-9a-f-]{36})\/retry/.exec(page.html)![1]!;

    const agentView = await agent.get('/settings/webhooks');
    expect(agentView.html).toContain('id="failed-deliveries"');
    expect(agentView.html).not.toContain('Send again');
    const forgedRetry = await agent.post(`/settings/webhooks/deliveries/${eventId}/retry`, {});
    expect(forgedRetry.status).toBe(403);
    expect(forgedRetry.html).toContain('Your role does not allow this');

    // The brand fixes its receiver, and the admin sends the failed delivery again: it arrives.
    const arrived: string[] = [];
    const receiver = createServer((req, res) => {
      arrived.push(String(req.headers['x-outbound-event-id']));
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const address = receiver.address() as { port: number };
      expect((await admin.post('/settings/webhooks', { url: `http://127.0.0.1:${address.port}/hook` })).status).toBe(
        200,
      );
      expect((await admin.post(`/settings/webhooks/deliveries/${eventId}/retry`, {})).status).toBe(303);
      let row = await running.app.db('webhook_deliveries').where({ event_id: eventId }).first();
      await eventually(async () => {
        row = await running.app.db('webhook_deliveries').where({ event_id: eventId }).first();
        return row.status === 'delivered';
      }, 'the delivery sent again arrives');
      expect(row.status).toBe('delivered');
      expect(arrived).toContain(eventId);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

async function readySender() {
  const row = await running.app.db('senders').where({ account_id: 'default' }).first('sender_id');
  return { senderId: row.sender_id as string };
}
