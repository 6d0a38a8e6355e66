import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/postgres.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';

/**
 * F2: single sign-on against a real OpenID Connect provider run in-process (oidc-provider, its development login
 * pages), through Chromium. The verified email maps to an existing user; an unknown one is refused.
 */
let running: TestApp;
let issuerServer: Server;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let nextEmail = TEST_ADMIN.email;

beforeAll(async () => {
  const issuerPort = await freePort();
  const issuer = `http://127.0.0.1:${issuerPort}`;
  running = await startTestApp({
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: 'outbound',
    OIDC_CLIENT_SECRET: 'a-long-enough-client-secret-for-tests',
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'outbound',
        client_secret: 'a-long-enough-client-secret-for-tests',
        redirect_uris: [`${running.baseUrl}/auth/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: nextEmail, email_verified: true }),
    }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['test-cookie-key-0123456789'] },
  });
  issuerServer = await new Promise((resolve) => {
    const listening = provider.listen(issuerPort, () => resolve(listening));
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => issuerServer?.close(resolve));
  await running?.close();
});

async function signInThroughProvider() {
  const page = await browser.context.newPage();
  await page.goto(`${running.baseUrl}/login`);
  await page.click('#sso');
  // oidc-provider's development pages: a login form (any login), then the consent prompt.
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'someone');
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
  if (await page.locator('button[autofocus], button[type=submit]').first().isVisible()) {
    const consent = page.locator('button[type=submit]', { hasText: /continue/i });
    if (await consent.count()) await consent.click();
  }
  // Back on Outbound: either signed in, or on the callback's answer saying why not.
  await page.waitForURL((url) => url.origin === running.baseUrl, { timeout: 20_000 });
  await page.waitForLoadState();
  return page;
}

describe('single sign-on (OIDC)', () => {
  it('signs in a known user by their verified email, through the provider’s pages in Chromium', async () => {
    nextEmail = TEST_ADMIN.email;
    const page = await signInThroughProvider();
    expect(new URL(page.url()).pathname).not.toBe('/login');
    expect(await page.textContent('header')).toContain('Admin');
    await page.close();
  }, 60_000);

  it('refuses an email that is no user of Outbound, saying so', async () => {
    await browser.context.clearCookies();
    nextEmail = 'stranger@elsewhere.test';
    const page = await signInThroughProvider();
    expect(new URL(page.url()).pathname).toBe('/auth/oidc/callback');
    expect(await page.textContent('main')).toContain('stranger@elsewhere.test is not a user of Outbound');
    await page.close();
  }, 60_000);
});
