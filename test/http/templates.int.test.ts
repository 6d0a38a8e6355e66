import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSender, addSkill } from '../../src/app/account-settings.ts';
import { addUser } from '../../src/app/accounts.ts';
import { foldStream } from '../../src/app/handler.ts';
import * as account from '../../src/domain/account.ts';
import { readyAccount, SYSTEM } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { launchChromium } from '../support/chromium.ts';

let running: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const screenshots = path.resolve(import.meta.dirname, '../../test-results');

beforeAll(async () => {
  running = await startTestApp({ TEMPLATE_POLL_MS: '200' }, { worker: true });
  await readyAccount(running);
  await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: '+14155550100', rate: 0 }, SYSTEM);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  await addUser(
    running.app,
    { accountId: 'default', email: 'agent@outbound.test', role: 'agent', password: 'agent password 1' },
    SYSTEM,
  );
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

describe('the template builder in Chromium', () => {
  it('builds a template with a header image and two quick replies, previews it live, submits it and sees it approved', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${running.baseUrl}/login`);
    await page.fill('input[name=email]', TEST_ADMIN.email);
    await page.fill('input[name=password]', TEST_ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));

    await page.goto(`${running.baseUrl}/templates/new`);
    await page.fill('input[name=name]', 'summer_drop');
    await page.selectOption('select[name=headerType]', 'image');
    await page.fill('input[name=headerUrl]', 'https://cdn.example.com/summer.png');
    await page.fill('textarea[name=body]', 'Hi {{1}}, the summer drop is here.');
    await page.fill('input[name=sample1]', 'Ana');
    await page.fill('input[name=footer]', 'Acme');
    await page.selectOption('select[name=buttonsType]', 'quick-reply');
    await page.fill('input[name=reply1]', 'Show me');
    await page.fill('input[name=reply2]', 'Not now');
    // The live preview: the body with the sample values, the header image, the footer and both buttons.
    await page.locator('[data-preview-body]', { hasText: 'Hi Ana, the summer drop is here.' }).waitFor();
    await page.locator('[data-preview-button=reply]', { hasText: 'Not now' }).waitFor();
    expect(await page.locator('[data-preview-button=reply]').count()).toBe(2);
    expect(await page.getAttribute('[data-preview-header=image]', 'src')).toBe('https://cdn.example.com/summer.png');
    expect(await page.textContent('[data-preview-footer]')).toBe('Acme');
    // A rule broken is said inline while typing.
    await page.fill('textarea[name=body]', '{{1}}, the summer drop is here.');
    await page.waitForSelector('[data-preview-problem]');
    expect(await page.textContent('[data-preview-problem]')).toMatch(/starts with a variable/);
    await page.fill('textarea[name=body]', 'Hi {{1}}, the summer drop is here.');
    await page.locator('[data-preview-problem]').waitFor({ state: 'detached' });
    await page.screenshot({ path: path.join(screenshots, 'template-builder.png'), fullPage: true });
    await page.click('#save-template');
    await page.waitForURL((url) => url.pathname === '/templates');
    const row = page.locator('tr[data-template-name=summer_drop]');
    expect(await row.getAttribute('data-status')).toBe('draft');
    await row.locator('[data-action=submit]').click();
    await page.waitForURL((url) => url.pathname === '/templates');
    await eventually(async () => {
      await page.goto(`${running.baseUrl}/templates?status=approved`);
      return (await page.locator('tr[data-template-name=summer_drop][data-status=approved]').count()) === 1;
    }, 'approved in the list');
    await page.screenshot({ path: path.join(screenshots, 'templates.png'), fullPage: true });
  });
});

describe('template pages', () => {
  it('a bad draft is answered with the rule inline and nothing saved; emoji, RTL, NUL and 10,000 characters never 500', async () => {
    const admin = new WebSession(running.baseUrl);
    expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
    await admin.get('/templates/new');
    const base = { language: 'en', category: 'UTILITY', buttonsType: 'none', sample1: 'x' };
    for (const [name, body, code] of [
      ['ok_name', 'Hi {{1}}{{2}} there', /side by side/],
      ['Bad Name', 'Hi {{1}} there', /lowercase letters/],
      ['order_\u200f', 'Hi {{1}} there', /lowercase letters/],
      ['emoji_😀', 'Hi {{1}} there', /lowercase letters/],
      ['long_body', `Hi {{1}} ${'x'.repeat(10_000)}`, /at most 1024/],
    ] as const) {
      const response = await admin.post('/templates', { ...base, name, body });
      expect(response.status, name).toBe(400);
      expect(response.html).toMatch(code);
      expect(response.html).toContain('role="alert"');
    }
    const nul = await admin.post('/templates', { ...base, name: 'nul\u0000', body: 'Hi {{1}} there' });
    expect(nul.status).toBeLessThan(500);
    expect(nul.status).toBeGreaterThanOrEqual(400);
    expect(
      await running.app.db('templates').where({ account_id: 'default' }).whereNot({ name: 'summer_drop' }),
    ).toEqual([]);
  });

  it('Settings take the media hosts allow-list and refuse a bad host naming it', async () => {
    const admin = new WebSession(running.baseUrl);
    expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
    await admin.get('/settings');
    const bad = await admin.post('/settings/whatsapp', { mediaHosts: 'cdn.example.com, not_a/host' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('not_a/host is not a host name');
    const good = await admin.post('/settings/whatsapp', {
      mediaHosts: 'CDN.example.com  media.example.org',
      fallbackOptOut: 'on',
    });
    expect(good.status).toBe(303);
    const state = foldStream(account, await running.app.store.read(account.accountStream('default')));
    expect(state.settings.whatsapp).toEqual({
      mediaHosts: ['cdn.example.com', 'media.example.org'],
      fallbackOptOut: true,
    });
    expect((await admin.get('/settings')).html).toContain('cdn.example.com, media.example.org');
  });

  it('only Admins and Campaign Managers build templates; others may read the list', async () => {
    const agent = new WebSession(running.baseUrl);
    expect((await agent.login('agent@outbound.test', 'agent password 1')).status).toBe(303);
    expect((await agent.get('/templates')).status).toBe(200);
    expect((await agent.get('/templates/new')).status).toBe(403);
    expect((await agent.post('/templates', { name: 'x', body: 'Hi {{1}} x', sample1: 'a' })).status).toBe(403);
  });
});
