import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateProactive, loadAccount } from '../../src/app/accounts.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** F3 in the web tool: an admin adds users (first password shown once), changes roles and removes users. */
let running: TestApp;
let admin: WebSession;

beforeAll(async () => {
  running = await startTestApp();
  await activateProactive(running.app, 'default', SYSTEM);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  await admin.get('/users');
});
afterAll(async () => {
  await running?.close();
});

const userId = async (email: string) =>
  Object.entries((await loadAccount(running.app, 'default')).users).find(([, user]) => user.email === email)![0];

describe('users and roles in the web tool', () => {
  it('adds a user who signs in with the password shown once; a bad email is refused on its field', async () => {
    const bad = await admin.post('/users', { email: 'not-an-email', name: 'X', role: 'agent' });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/name="email"[^>]*aria-invalid=true/);

    const added = await admin.post('/users', { email: 'Sam@Outbound.test', name: 'Sam', role: 'agent' });
    expect(added.status).toBe(200);
    const password = /shown once:\s*<code>([^<]+)<\/code>/.exec(added.html)![1]!;
    expect((await admin.get('/users')).html).not.toContain(password);
    const sam = new WebSession(running.baseUrl);
    let login = await sam.login('sam@outbound.test', password);
    await eventually(async () => {
      if (login.status !== 303) login = await sam.login('sam@outbound.test', password);
      return login.status === 303;
    }, 'the new user signs in');
    expect(login.status).toBe(303);
  });

  it('changes a role, refuses to remove the last admin, and warns when a bot user is removed', async () => {
    const sam = await userId('sam@outbound.test');
    expect((await admin.post(`/users/${sam}/role`, { role: 'agent_manager' })).status).toBe(303);
    expect((await loadAccount(running.app, 'default')).users[sam]!.role).toBe('agent_manager');
    expect((await admin.post(`/users/${sam}/role`, { role: 'emperor' })).status).toBe(400);

    const me = await userId(TEST_ADMIN.email);
    const last = await admin.post(`/users/${me}/remove`, {});
    expect(last.status).toBe(409);
    expect(last.html).toContain('at least one admin');

    const bot = Object.entries((await loadAccount(running.app, 'default')).users).find(
      ([, user]) => user.name === 'prmsg-bot-user-1',
    )![0];
    const removed = await admin.post(`/users/${bot}/remove`, {});
    expect(removed.status).toBe(303);
    const page = await admin.get(removed.location!);
    expect(page.html).toContain('id="bots-missing"');
    expect(page.html).toContain('prmsg-bot-user-1');
  });
});
