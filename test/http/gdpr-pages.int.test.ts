import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.ts';
import { addUser } from '../../src/app/accounts.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { committedEvents, committedHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { launchChromium } from '../support/chromium.ts';

/**
 * F14 in the web tool, through Chromium: an Admin reviews what an erasure takes, confirms it, and watches it
 * finish; afterwards no page (inbox, conversation, campaign, event history, export) shows the number or texts.
 */
const screenshots = path.resolve(import.meta.dirname, '../../test-results');
let running: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const consumer = phone(9400);
const digits = consumer.slice(1);
let campaignId: string;

async function caughtUp() {
  const head = await committedHead(running.app.db);
  await waitForProjection(
    running.app.db,
    projections.map((projection) => projection.name),
    head!,
    { timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  const { senderId } = await readyAccount(running);
  const sent = await sendCampaign(
    running,
    senderId,
    [{ phone: consumer, variables: { 1: 'Okapi-1357' } }],
    'Hi ${{1}}',
  );
  campaignId = sent.campaignId;
  await waitForCampaign(running, campaignId);
  const reply = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: consumer, to: '+14155550100', body: 'a private reply 8642' }),
  });
  expect(reply.status).toBe(201);
  await caughtUp();
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

async function adminSession() {
  const session = new WebSession(running.baseUrl);
  expect((await session.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  expect((await session.get('/gdpr')).status).toBe(200);
  return session;
}

describe('GDPR pages', () => {
  it('keeps them for Admins: a read-only role gets 403 and no GDPR link', async () => {
    const added = await addUser(
      running.app,
      { accountId: 'default', email: 'auditor@outbound.test', role: 'auditor', password: 'auditor password 1' },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'users', added.position!, { timeoutMs: 5000 });
    const auditor = new WebSession(running.baseUrl);
    expect((await auditor.login('auditor@outbound.test', 'auditor password 1')).status).toBe(303);
    const page = await auditor.get('/onboarding');
    expect(page.html).not.toContain('href="/gdpr"');
    expect((await auditor.get('/gdpr')).status).toBe(403);
    const head = await committedEvents(running);
    expect((await auditor.post('/gdpr/export', { phone: consumer })).status).toBe(403);
    expect((await auditor.post('/gdpr/erasure', { phone: consumer, confirm: 'yes' })).status).toBe(403);
    expect(await committedEvents(running)).toBe(head);
  });

  it('names the field of bad input and keeps what was typed', async () => {
    const session = await adminSession();
    const answer = await session.post('/gdpr/erasure/confirm', { phone: '12345' });
    expect(answer.status).toBe(400);
    expect(answer.html).toContain('id="erase-error"');
    expect(answer.html).toContain('phone must be a phone number');
    expect(answer.html).toMatch(/name="phone"[^>]*value="12345"[^>]*aria-invalid=true/);
    const unconfirmed = await session.post('/gdpr/erasure', { phone: consumer });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.html).toContain('Confirm the erasure first.');
  });

  it('records an opt-out from the web tool and shows the history', async () => {
    const session = await adminSession();
    const number = phone(9401);
    const recorded = await session.post('/gdpr/consent', { phone: number, channel: 'sms', action: 'opt-out' });
    expect(recorded.status).toBe(200);
    expect(recorded.html).toContain('Currently <strong>opted out</strong>');
    expect(recorded.html).toMatch(/<td>opted out<\/td>\s*<td>sms<\/td><td>web<\/td>/);
    const bad = await session.post('/gdpr/consent', { phone: 'nope', action: 'show' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="consent-error"');
  });

  it('downloads the export as a JSON file, before the erasure with the consumer’s data', async () => {
    const session = await adminSession();
    const answer = await session.post('/gdpr/export', { phone: digits });
    expect(answer.status).toBe(200);
    const document = JSON.parse(answer.html);
    expect(JSON.stringify(document)).toContain('Okapi-1357');
    expect(document.conversations[0].transcript.map((line: { text: string }) => line.text)).toContain(
      'a private reply 8642',
    );
  });

  it('confirms what goes, erases, and then no page shows the number or the texts', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${running.baseUrl}/login`);
    await page.fill('input[name=email]', TEST_ADMIN.email);
    await page.fill('input[name=password]', TEST_ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    const conversation = await running.app.db('conversations').where({ account_id: 'default' }).first();
    await page.goto(`${running.baseUrl}/inbox/${conversation.conversation_id}`);
    expect(await page.content()).toContain('a private reply 8642');

    await page.goto(`${running.baseUrl}/gdpr`);
    expect(await page.locator('#no-erasures').count()).toBe(1);
    await page.fill('#erase input[name=phone]', digits);
    await page.click('#erase button[type=submit]');
    await page.locator('#confirm').waitFor();
    const goes = (await page.locator('#what-goes').textContent())!.replace(/\s+/g, ' ');
    expect(goes).toContain('1 message in 1 campaign');
    expect(goes).toContain('1 conversation');
    expect(goes).toContain('the open one is closed');
    expect((await page.locator('#what-stays').textContent())!.replace(/\s+/g, ' ')).toContain('opt-out record');
    await page.screenshot({ path: path.join(screenshots, 'gdpr-confirm.png'), fullPage: true });
    await page.click('#confirm-erasure');
    await page.waitForURL(/\/gdpr\/erasure\/[0-9a-f-]{36}$/);
    // htmx refreshes the state until every read model has applied the erasure.
    await page.locator('#erasure-state', { hasText: 'done' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(screenshots, 'gdpr-erasure.png'), fullPage: true });

    await caughtUp();
    const forms = [consumer, digits, 'Okapi-1357', 'a private reply 8642'];
    for (const url of [
      '/inbox?status=closed',
      `/inbox/${conversation.conversation_id}`,
      `/campaigns/${campaignId}`,
      '/campaigns',
      '/events',
      '/gdpr',
    ]) {
      await page.goto(`${running.baseUrl}${url}`);
      const html = await page.content();
      for (const form of forms) expect(html.includes(form), `${url} shows ${form}`).toBe(false);
    }
    await page.goto(`${running.baseUrl}/inbox/${conversation.conversation_id}`);
    expect(await page.content()).toContain('(erased)');
    const session = await adminSession();
    const exported = await session.post('/gdpr/export', { phone: consumer });
    for (const form of forms) expect(exported.html.includes(form), `the export shows ${form}`).toBe(false);
    await page.close();
  });
});
