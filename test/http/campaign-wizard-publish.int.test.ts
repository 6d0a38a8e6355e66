import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/app/accounts.ts';
import { cancelCampaign } from '../../src/app/campaigns.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { TEST_ADMIN } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import { OPT_OUT, openWizard, screenshots, signIn, type Wizard } from '../support/wizard.ts';

/**
 * Issue 15 in Chromium, publishing: a Windows-1252 export read as such (item 6), a refused publish that keeps the
 * parsed list (7), the campaign page's recipients (9), the progress poll that stops with 286, and the wizard
 * without JavaScript (10). Screenshots go to test-results/.
 */
let wizard: Wizard;
beforeAll(async () => {
  wizard = await openWizard({ worker: true });
}, 60_000);
afterAll(async () => {
  await wizard?.close();
});

describe('publishing from the campaign wizard', () => {
  it('items 6, 7 and 9: a Windows-1252 export is read as such; a refused publish keeps the list; the campaign page shows each recipient', async () => {
    const { page, newCampaign, parse, rowsOf, messageOf, settled } = wizard;
    await newCampaign('Accents', 'Bonjour {{first_name}}.');
    const file = iconv.encode(
      ['phone;first_name', '+14155550601;José', '+14155550602;Müller', '+14155550603;Françoise'].join('\r\n'),
      'windows-1252',
    );
    expect(file.includes(Buffer.from('é'))).toBe(false);
    expect(await parse('excel-windows.csv', file)).toBe(200);
    expect(await page.textContent('#preview-encoding')).toContain('Windows-1252');
    expect(await page.textContent('#preview-reading')).toContain('semicolons');
    expect([await messageOf(2), await messageOf(3), await messageOf(4)]).toEqual([
      `Bonjour José.\n${OPT_OUT}`,
      `Bonjour Müller.\n${OPT_OUT}`,
      `Bonjour Françoise.\n${OPT_OUT}`,
    ]);
    await page.screenshot({ path: path.join(screenshots, 'wizard-windows-1252.png'), fullPage: true });

    // Publish without consent: 422, the same form with a sentence saying what to do, and the parsed list kept.
    const answer = page.waitForResponse(
      (response) => response.url().endsWith('/campaigns') && response.request().method() === 'POST',
    );
    await settled('campaign-form', () => page.click('#publish'));
    expect((await answer).status()).toBe(422);
    const error = (await page.textContent('#form-error')) ?? '';
    expect(error).toContain('Tick “These consumers agreed to receive messages from us”');
    expect(error).not.toContain('consent must be true');
    expect(await page.getAttribute('input[name=consent]', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('input[name=name]')).toBe('Accents');
    expect(await page.inputValue('textarea[name=text]')).toBe('Bonjour {{first_name}}.');
    expect(await page.locator('input[name=uploadId]').count()).toBe(1);
    expect((await rowsOf()).length).toBe(3);
    await page.screenshot({ path: path.join(screenshots, 'wizard-publish-refused.png'), fullPage: true });

    await page.check('input[name=consent]');
    await page.click('#publish');
    await page.waitForURL(/\/campaigns\/[0-9a-f]{32}/);
    const campaignUrl = page.url().split('?')[0]!;
    await page.waitForSelector('#progress:not([hx-get])', { timeout: 60_000 });
    const sent = await wizard.running.app
      .db('sandbox_messages')
      .where({ direction: 'outbound-api' })
      .whereLike('body', 'Bonjour%')
      .orderBy('to');
    expect(sent.map((message) => message.body)).toEqual([
      `Bonjour José.\n${OPT_OUT}`,
      `Bonjour Müller.\n${OPT_OUT}`,
      `Bonjour Françoise.\n${OPT_OUT}`,
    ]);
    const table = () =>
      page.$$eval('#recipients tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].slice(0, 3).map((cell) => cell.textContent)),
      );
    expect(await table()).toEqual([
      ['1', '+14155550601', `Bonjour José.\n${OPT_OUT}`],
      ['2', '+14155550602', `Bonjour Müller.\n${OPT_OUT}`],
      ['3', '+14155550603', `Bonjour Françoise.\n${OPT_OUT}`],
    ]);
    await page.screenshot({ path: path.join(screenshots, 'campaign-recipients.png'), fullPage: true });

    // An auditor reads the campaign, but not the numbers or the recipients' values.
    const added = await addUser(
      wizard.running.app,
      { accountId: 'default', email: 'auditor@outbound.test', role: 'auditor', password: 'auditor password 1' },
      SYSTEM,
    );
    await waitForProjection(wizard.running.app.db, 'users', added.position!, { timeoutMs: 5000 });
    // Its own browser profile, so that the admin's session in the main one stays signed in.
    const second = await launchChromium();
    try {
      const other = await second.context.newPage();
      await signIn(other, wizard.running.baseUrl, 'auditor@outbound.test', 'auditor password 1');
      await other.goto(campaignUrl);
      const masked = await other.$$eval('#recipients tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].slice(0, 3).map((cell) => cell.textContent)),
      );
      expect(masked).toEqual([
        ['1', '+1 ••••••••01', `Bonjour •••.\n${OPT_OUT}`],
        ['2', '+1 ••••••••02', `Bonjour •••.\n${OPT_OUT}`],
        ['3', '+1 ••••••••03', `Bonjour •••.\n${OPT_OUT}`],
      ]);
      await other.screenshot({ path: path.join(screenshots, 'campaign-recipients-masked.png'), fullPage: true });
    } finally {
      await second.close();
    }
  }, 120_000);

  it('item 10: the live progress polls every second and stops with HTTP 286', async () => {
    const { page, newCampaign, settled } = wizard;
    await newCampaign('Later', 'See you later.');
    await page.fill('textarea[name=numbers]', '+14155550701\n+14155550702');
    await settled('preview', () => page.click('#parse'));
    await page.check('input[name=when][value=later]');
    // Within the 90 days a campaign may be scheduled ahead (the API's rule, which the wizard shares).
    await page.fill('input[name=sendAt]', new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 16));
    await page.check('input[name=consent]');
    await page.click('#publish');
    await page.waitForURL(/\/campaigns\/[0-9a-f]{32}/);
    expect(await page.getAttribute('#progress', 'hx-trigger')).toBe('every 1s');
    const campaignId = new URL(page.url()).pathname.split('/')[2]!;
    // Cancelled elsewhere while this page polls: the next poll answers 286, and polling stops.
    const stopped = page.waitForResponse(
      (response) => response.url().includes(`/campaigns/${campaignId}/progress`) && response.status() === 286,
    );
    await cancelCampaign(
      wizard.running.app,
      { accountId: 'default', campaignId, cancelledBy: 'test', reason: 'Cancelled by the test' },
      SYSTEM,
    );
    await stopped;
    await page.waitForSelector('#progress:not([hx-get])');
    expect(await page.textContent('#progress')).toContain('cancelled');
  }, 60_000);

  it('item 10: the wizard works without JavaScript, from Parse to a published campaign', async () => {
    const plain = await launchChromium({ javaScriptEnabled: false });
    try {
      const noJs = await plain.context.newPage();
      await signIn(noJs, wizard.running.baseUrl, TEST_ADMIN.email, TEST_ADMIN.password);
      await noJs.goto(`${wizard.running.baseUrl}/campaigns/new`);
      await noJs.fill('input[name=name]', 'No script');
      await noJs.fill('textarea[name=text]', 'Hi {{first_name}}.');
      await noJs.setInputFiles('input[name=file]', {
        name: 'plain.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('phone,first_name\n+14155550801,Ivy\n(479) 555-0802,Jo\n'),
      });
      await Promise.all([noJs.waitForURL(/\/campaigns\/new\/preview$/), noJs.click('#parse')]);
      expect(await noJs.textContent('#preview-summary')).toMatch(/1\s+of 2 recipient rows will be sent/);
      expect(await noJs.inputValue('input[name=name]')).toBe('No script');
      expect(await noJs.getAttribute('#preview-table tr[data-row="3"] [data-error]', 'data-error')).toBe(
        'COUNTRY_CODE_MISSING',
      );
      await noJs.screenshot({ path: path.join(screenshots, 'wizard-no-javascript.png'), fullPage: true });
      await noJs.check('input[name=consent]');
      await Promise.all([noJs.waitForURL(/\/campaigns\/[0-9a-f]{32}/), noJs.click('#publish')]);
      expect(await noJs.textContent('h1')).toBe('No script');
    } finally {
      await plain.close();
    }
  }, 60_000);
});
