import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';

/**
 * F10 in Chromium, as a campaign manager works: log in → activate → add a sender and open the window → new
 * campaign from a CSV with good and bad rows (a BOM file, then a CRLF file) → the preview marks the right rows →
 * publish → the progress bar reaches 100% → analytics shows the counts → the event history shows who published.
 */
/** The page's document, inside the functions Playwright runs in the browser (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const screenshots = path.resolve(import.meta.dirname, '../../test-results');
let running: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

const bomCsv = [
  '\ufeffphone,first_name,code',
  '+14155550201,Ada,A1',
  'not-a-number,Bob,B2',
  '+14155550201,Ada again,A3',
  '+14155550202,Cy',
  '"+1 (415) 555-0203","Dee, Jr.",D4',
  '+33140000000,Lou,L9',
].join('\n');
const crlfCsv = [
  'first_name,mobile,code,notes',
  'Eve,+14155550204,E5,"likes ""quotes"""',
  'Fay,12,F6,',
  'Gus,+14155550205,G7,"two',
  'lines"',
  'Hal,+14155550206,H8,extra,columns,ignored',
].join('\r\n');

describe('new campaign wizard in Chromium', () => {
  it('goes from login to a published campaign at 100%, with the preview marking bad rows', async () => {
    const page = await browser.context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${running.baseUrl}/login`);
    await page.fill('input[name=email]', TEST_ADMIN.email);
    await page.fill('input[name=password]', TEST_ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));

    await page.goto(`${running.baseUrl}/onboarding`);
    await page.click('#activate');
    await page.waitForSelector('text=Proactive is active');

    await page.goto(`${running.baseUrl}/settings`);
    await page.fill('#senders input[name=address]', '+14155550100');
    await page.fill('#senders input[name=rate]', '0');
    await page.click('#add-sender');
    await page.waitForSelector('tr[data-sender="+14155550100"]');
    for (const day of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']) {
      await page.check(`input[name="${day}.open"]`);
      await page.fill(`input[name="${day}.start"]`, '00:00');
      await page.fill(`input[name="${day}.end"]`, '24:00');
    }
    await page.click('#save-window');
    await page.waitForURL(/\/settings/);

    await page.goto(`${running.baseUrl}/campaigns`);
    await page.click('#new-campaign');
    await page.fill('input[name=name]', 'Spring codes');
    await page.fill('textarea[name=text]', 'Hi {{first_name}}, your code is ${{2}}.');
    await page.waitForFunction(() => document.querySelector('#counter')?.textContent?.includes('variables'));
    expect(await page.textContent('#counter')).toMatch(/\d+ \/ 140 characters/);

    await page.setInputFiles('input[name=file]', {
      name: 'bom.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(bomCsv),
    });
    await page.click('#parse');
    await page.waitForSelector('#preview-table');
    const errors = async () =>
      page.$$eval('#preview-table tr[data-row]', (rows) =>
        rows.map((row) => [
          Number(row.getAttribute('data-row')),
          row.querySelector('[data-error]')?.getAttribute('data-error') ?? null,
        ]),
      );
    expect(await errors()).toEqual([
      [2, null],
      [3, 'INVALID_NUMBER'],
      [4, 'DUPLICATE_NUMBER'],
      [5, 'MISSING_VARIABLE=2'],
      [6, null],
      [7, 'LANDLINE'],
    ]);
    expect(await page.textContent('#preview-table tr[data-row="6"] td.message')).toContain(
      'Hi Dee, Jr., your code is D4.',
    );
    expect(await page.textContent('#preview-summary')).toMatch(/2\s+of 6 recipient rows will be sent/);

    await page.setInputFiles('input[name=file]', {
      name: 'crlf.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(crlfCsv),
    });
    await page.click('#parse');
    await page.waitForFunction(() =>
      document.querySelector('#preview-table tr[data-row="2"]')?.textContent?.includes('Eve'),
    );
    expect(await errors()).toEqual([
      [2, null],
      [3, 'INVALID_NUMBER'],
      [4, null],
      [5, null],
    ]);
    await page.screenshot({ path: path.join(screenshots, 'wizard-preview.png'), fullPage: true });

    await page.check('input[name=consent]');
    await page.click('#publish');
    await page.waitForURL(/\/campaigns\/[0-9a-f]{32}/);
    await page.waitForFunction(() => document.querySelector('#percent')?.textContent === '100', undefined, {
      timeout: 60_000,
    });
    // The poll that saw the end answered 286: polling stopped (no hx-get left), and that answer brought the
    // recipients table along, each with its outcome; Cancel is gone.
    await page.waitForSelector('#progress:not([hx-get])', { timeout: 20_000 });
    const table = (await page.textContent('#recipients')) ?? '';
    expect(table).toMatch(/delivered|sent/);
    expect(table).not.toMatch(/queued|sending/);
    expect(await page.getAttribute('#progress-bar', 'value')).toBe('3');
    expect(await page.locator('#cancel-campaign').count()).toBe(0);
    await page.screenshot({ path: path.join(screenshots, 'campaign-progress.png'), fullPage: true });
    const sent = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' }).orderBy('to');
    expect(sent.map((message) => message.body)).toEqual([
      'Hi Eve, your code is E5.\nTo stop receiving messages, reply STOP.',
      'Hi Gus, your code is G7.\nTo stop receiving messages, reply STOP.',
      'Hi Hal, your code is H8.\nTo stop receiving messages, reply STOP.',
    ]);

    await page.click('main nav a:has-text("Analytics")');
    await page.waitForSelector('#funnel');
    expect(await page.textContent('[data-funnel="Recipients"]')).toBe('3');
    await page.screenshot({ path: path.join(screenshots, 'campaign-analytics.png'), fullPage: true });

    await page.goto(`${running.baseUrl}/events`);
    const history = (await page.textContent('main')) ?? '';
    expect(history).toContain('CampaignPublished');
    expect(history).toMatch(/CampaignPublished[\s\S]*?by [^\n]*(Admin|admin)/);
  }, 180_000);
});
