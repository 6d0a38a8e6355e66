import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, removeUser } from '../../src/app/accounts.ts';
import { accountStream } from '../../src/domain/account.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

let running: TestApp;

beforeAll(async () => {
  running = await startTestApp();
});
afterAll(async () => {
  await running?.close();
});

describe('first start, sign-in and Proactive activation (F1)', () => {
  it('creates the default account and its admin once', async () => {
    const events = await running.app.store.read(accountStream('default'));
    expect(events.map((event) => event.type)).toEqual(['AccountCreated', 'UserAdded']);
    expect(events[1]!.data).toMatchObject({ email: TEST_ADMIN.email, role: 'admin', kind: 'person' });
    expect(JSON.stringify(events.map((event) => [event.data, event.metadata]))).not.toContain(TEST_ADMIN.password);
  });

  it('refuses a wrong password and keeps the email typed', async () => {
    const browser = new WebSession(running.baseUrl);
    await browser.get('/login');
    const result = await browser.post('/login', { email: TEST_ADMIN.email, password: 'wrong password' });
    expect(result.status).toBe(401);
    expect(result.html).toContain('do not match');
    expect(result.html).toContain(`value="${TEST_ADMIN.email}"`);
  });

  it('refuses a login form without its CSRF cookie token', async () => {
    const browser = new WebSession(running.baseUrl);
    const result = await browser.post(
      '/login',
      { email: TEST_ADMIN.email, password: TEST_ADMIN.password },
      { csrf: false },
    );
    expect(result.status).toBe(403);
  });

  it('lets the admin activate Proactive, which creates both bot users, shown on the users page', async () => {
    const browser = new WebSession(running.baseUrl);
    expect(await browser.login(TEST_ADMIN.email, TEST_ADMIN.password)).toEqual({ status: 303, location: '/' });

    const before = await browser.get('/onboarding');
    expect(before.status).toBe(200);
    expect(before.html).toContain('Activate Proactive');

    const activated = await browser.post('/onboarding/activate', {});
    expect(activated.status).toBe(303);
    expect(activated.location).toMatch(/^\/onboarding\?at=/);
    const after = await browser.get(activated.location!);
    expect(after.html).toContain('Proactive is active');
    expect(after.html).not.toContain('Sending is stopped');

    const users = await browser.get('/users');
    expect(users.html).toContain('prmsg-bot-user-1');
    expect(users.html).toContain('prmsg-bot-user-2');
    expect(users.html).toContain(TEST_ADMIN.email);

    const again = await browser.post('/onboarding/activate', {});
    expect(again.status).toBe(409);
    expect(again.html).toContain('PROACTIVE_ALREADY_ACTIVE');
  });

  it('warns when a bot user is deleted and restores it on request', async () => {
    const botId = (await running.app.db('users').where({ account_id: 'default', name: 'prmsg-bot-user-2' }).first())
      .user_id as string;
    await removeUser(running.app, { accountId: 'default', userId: botId }, { actor: 'test' });
    const browser = new WebSession(running.baseUrl);
    await browser.login(TEST_ADMIN.email, TEST_ADMIN.password);
    let page = await browser.get('/onboarding');
    for (let i = 0; i < 50 && !page.html.includes('Sending is stopped'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      page = await browser.get('/onboarding');
    }
    expect(page.html).toContain('Sending is stopped: prmsg-bot-user-2 was deleted');
    const restored = await browser.post('/onboarding/activate', {});
    expect(restored.status).toBe(303);
    const after = await browser.get(restored.location!);
    expect(after.html).not.toContain('Sending is stopped');
    const account = await running.app.store.read(accountStream('default'));
    expect(account.filter((event) => event.type === 'ProactiveActivated')).toHaveLength(1);
  });

  it('shows who did what in the event history, filterable by type and stream', async () => {
    const browser = new WebSession(running.baseUrl);
    await browser.login(TEST_ADMIN.email, TEST_ADMIN.password);
    const all = await browser.get('/events');
    expect(all.status).toBe(200);
    expect(all.html).toContain('ProactiveActivated');
    expect(all.html).toContain(`Administrator &lt;${TEST_ADMIN.email}&gt;`);
    expect(all.html).toContain('System (bootstrap)');

    const onlyActivations = await browser.get('/events?type=ProactiveActivated');
    expect(onlyActivations.html.match(/data-type="([A-Za-z]+)"/g)).toEqual(['data-type="ProactiveActivated"']);

    const byStream = await browser.get('/events?stream=account-*');
    expect(byStream.html).toContain('AccountCreated');
    const noMatch = await browser.get('/events?stream=campaign-nothing');
    expect(noMatch.html).toContain('No events match these filters');
  });

  it('a read-only user sees no activate button, and a forged POST is refused with 403', async () => {
    await addUser(
      running.app,
      { accountId: 'default', email: 'audrey@outbound.test', role: 'auditor', password: 'auditor password' },
      { actor: 'test' },
    );
    const browser = new WebSession(running.baseUrl);
    let login = await browser.login('audrey@outbound.test', 'auditor password');
    for (let i = 0; i < 50 && login.status !== 303; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      login = await browser.login('audrey@outbound.test', 'auditor password');
    }
    expect(login.status).toBe(303);
    const page = await browser.get('/onboarding');
    expect(page.html).not.toContain('<button type="submit" id="activate"');
    const forged = await browser.post('/onboarding/activate', {});
    expect(forged.status).toBe(403);
  });

  it('refuses a signed-in POST without the CSRF token', async () => {
    const browser = new WebSession(running.baseUrl);
    await browser.login(TEST_ADMIN.email, TEST_ADMIN.password);
    const result = await browser.post('/onboarding/activate', {}, { csrf: false });
    expect(result.status).toBe(403);
  });

  it('sends anonymous visitors to the login page, keeping where they were going', async () => {
    const browser = new WebSession(running.baseUrl);
    const result = await browser.get('/events');
    expect(result.status).toBe(302);
    expect(result.location).toBe('/login?next=%2Fevents');
  });

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${running.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${running.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, eventStore: { ok: true } },
    });
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toContain('outbound_http_request_duration_seconds');
    expect(metrics).toContain('outbound_projection_events_total');
  });
});
