import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, loadAccount } from '../../src/app/accounts.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** The settings page (F9, F13, F15, F8, F18 and API clients) as an Admin and a Campaign Manager use it. */
let running: TestApp;
let admin: WebSession;
let manager: WebSession;

beforeAll(async () => {
  running = await startTestApp();
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  const added = await addUser(
    running.app,
    { accountId: 'default', email: 'cm@outbound.test', role: 'campaign_manager', password: 'manager password 1' },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'users', added.position!, { timeoutMs: 5000 });
  manager = new WebSession(running.baseUrl);
  expect((await manager.login('cm@outbound.test', 'manager password 1')).status).toBe(303);
  await manager.get('/settings');
});
afterAll(async () => {
  await running?.close();
});

const settings = () => loadAccount(running.app, 'default').then((account) => account.settings);

describe('settings in the web tool', () => {
  it('adds, re-rates and removes a sender; a bad number is refused on its field, keeping what was typed', async () => {
    const page = await admin.get('/settings');
    expect(page.html).toContain('id="no-senders"');
    const bad = await admin.post('/settings/senders', { address: '+1 not a number', label: 'Main', rate: '1' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="error-senders"');
    expect(bad.html).toMatch(/name="address"[^>]*aria-invalid=true/);
    expect(bad.html).toContain('value="Main"');

    expect((await admin.post('/settings/senders', { address: '+14155550100', label: 'Main', rate: '1' })).status).toBe(
      303,
    );
    let senders = Object.entries((await settings()).senders);
    expect(senders.map(([, sender]) => sender)).toEqual([
      { channel: 'sms', address: '+14155550100', label: 'Main', rate: 1 },
    ]);
    const [senderId] = senders[0]!;
    expect((await admin.post(`/settings/senders/${senderId}/rate`, { rate: '3' })).status).toBe(303);
    expect((await settings()).senders[senderId]!.rate).toBe(3);
    expect((await admin.post(`/settings/senders/${senderId}/rate`, { rate: 'fast' })).status).toBe(400);
    expect((await admin.post('/settings/send-rate', { rate: '25' })).status).toBe(303);
    expect((await settings()).sendRates.sms).toBe(25);
    expect((await manager.post(`/settings/senders/${senderId}/remove`, {})).status).toBe(303);
    senders = Object.entries((await settings()).senders);
    expect(senders).toEqual([]);
  });

  it('sets the receiving window, skills, time zone and idle timeout, refusing bad values', async () => {
    const window: Record<string, string> = {};
    for (const day of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']) {
      Object.assign(window, { [`${day}.open`]: 'on', [`${day}.start`]: '09:00', [`${day}.end`]: '18:30' });
    }
    expect((await manager.post('/settings/window', window)).status).toBe(303);
    const sms = (await settings()).windows.sms!;
    expect(sms.monday).toEqual({ start: '09:00', end: '18:30' });
    expect(sms.sunday).toBeNull();
    const backwards = await manager.post('/settings/window', {
      'monday.open': 'on',
      'monday.start': '18:00',
      'monday.end': '09:00',
    });
    expect(backwards.status).toBe(400);
    expect(backwards.html).toContain('id="error-window"');
    expect((await settings()).windows.sms!.monday).toEqual({ start: '09:00', end: '18:30' });

    expect((await manager.post('/settings/skills', { name: 'Front desk', isDefault: 'on' })).status).toBe(303);
    expect((await manager.post('/settings/skills', { name: 'front desk' })).status).toBe(409);
    const account = await settings();
    expect(Object.values(account.skills)).toEqual([{ name: 'Front desk' }]);
    expect(account.defaultSkillId).toBe(Object.keys(account.skills)[0]);

    expect((await manager.post('/settings/time-zone', { timeZone: 'Mars/Olympus' })).status).toBe(400);
    expect((await manager.post('/settings/time-zone', { timeZone: 'Europe/Paris' })).status).toBe(303);
    expect((await settings()).defaultTimeZone).toBe('Europe/Paris');
    const badCountry = await manager.post('/settings/default-country', { country: 'Atlantis' });
    expect(badCountry.status).toBe(400);
    expect(badCountry.html).toContain('id="error-default-country"');
    expect((await settings()).defaultCountry).toBeNull();
    expect((await manager.post('/settings/default-country', { country: 'GB' })).status).toBe(303);
    expect((await settings()).defaultCountry).toBe('GB');
    expect((await manager.get('/settings')).html).toMatch(/<option value="GB" selected>United Kingdom \(\+44\)/);
    expect((await manager.post('/settings/default-country', { country: '' })).status).toBe(303);
    expect((await settings()).defaultCountry).toBeNull();
    expect((await manager.post('/settings/conversation-timeout', { minutes: 'soon' })).status).toBe(400);
    expect((await manager.post('/settings/conversation-timeout', { minutes: '2' })).status).toBe(400);
    expect((await manager.post('/settings/conversation-timeout', { minutes: '90' })).status).toBe(303);
    expect((await settings()).conversationIdleMinutes).toBe(90);
  });

  it('sets a retention period (none by default), refusing a bad one on its field, and removes it', async () => {
    expect((await settings()).retentionDays).toBeNull();
    expect((await manager.get('/settings')).html).toMatch(/name="retentionDays" value=""/);
    const bad = await manager.post('/settings/retention', { retentionDays: 'a year' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="error-retention"');
    expect(bad.html).toMatch(/name="retentionDays" value="a year"[^>]*aria-invalid=true/);
    expect((await manager.post('/settings/retention', { retentionDays: '0' })).status).toBe(400);
    expect((await settings()).retentionDays).toBeNull();
    expect((await manager.post('/settings/retention', { retentionDays: '90' })).status).toBe(303);
    expect((await settings()).retentionDays).toBe(90);
    expect((await manager.get('/settings')).html).toMatch(/name="retentionDays" value="90"/);
    expect((await manager.post('/settings/retention', { retentionDays: '' })).status).toBe(303);
    expect((await settings()).retentionDays).toBeNull();
  });

  it('lets only an admin create an API client, shows its secret once, and revokes it', async () => {
    const refused = await manager.post('/settings/api-clients', { name: 'CRM', 'scope.campaigns:read': 'on' });
    expect(refused.status).toBe(403);
    expect((await admin.post('/settings/api-clients', { name: 'CRM' })).status).toBe(400);

    const created = await admin.post('/settings/api-clients', { name: 'CRM', 'scope.campaigns:read': 'on' });
    expect(created.status).toBe(200);
    const clientId = /client_id <code>([^<]+)<\/code>/.exec(created.html)![1]!;
    const clientSecret = /client_secret <code>([^<]+)<\/code>/.exec(created.html)![1]!;
    expect((await admin.get('/settings')).html).not.toContain(clientSecret);

    const token = (body: Record<string, string>) =>
      fetch(`${running.baseUrl}/oauth/token`, { method: 'POST', body: new URLSearchParams(body) });
    const credentials = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret };
    // The token endpoint reads the client from the account's stream: usable at once, revoked at once.
    expect((await token(credentials)).status).toBe(200);

    expect((await admin.post(`/settings/api-clients/${clientId}/revoke`, {})).status).toBe(303);
    expect((await token(credentials)).status).toBe(401);
    expect((await admin.get('/settings')).html).toMatch(/data-client="CRM"[\s\S]*?revoked/);
  });
});
