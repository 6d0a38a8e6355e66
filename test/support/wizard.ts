import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startTestApp, TEST_ADMIN, type TestApp } from './app.ts';
import { launchChromium } from './chromium.ts';

// The page's globals, inside the functions Playwright runs in the browser (this project has no DOM types).
interface Node {
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
}
declare const document: {
  querySelector(selector: string): Node | null;
  addEventListener(type: string, listener: (event: { detail: { target: { id: string } } }) => void): void;
  body: Node;
};
declare const window: Record<string, unknown>;

export const screenshots = path.resolve(import.meta.dirname, '../../test-results');
export const OPT_OUT = 'To stop receiving messages, reply STOP.';

export async function signIn(on: Page, baseUrl: string, email: string, password: string) {
  await on.goto(`${baseUrl}/login`);
  await on.fill('input[name=email]', email);
  await on.fill('input[name=password]', password);
  await on.click('button[type=submit]');
  await on.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/**
 * The campaign wizard in Chromium, as the issue-15 tests drive it: the app, a browser signed in as the admin,
 * Proactive active, one SMS sender without a rate limit and a receiving window open all day, every day.
 */
export async function openWizard(options: { worker: boolean }) {
  const running: TestApp = await startTestApp({}, { worker: options.worker });
  await mkdir(screenshots, { recursive: true });
  const browser = await launchChromium();
  const page = await browser.context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await signIn(page, running.baseUrl, TEST_ADMIN.email, TEST_ADMIN.password);
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

  const newCampaign = async (name: string, text: string) => {
    await page.goto(`${running.baseUrl}/campaigns/new`);
    await page.fill('input[name=name]', name);
    await page.fill('textarea[name=text]', text);
  };

  /**
   * Runs an action and waits until htmx has swapped and settled its answer into the element with this id (the
   * message counter swaps too while typing, so any settle would not do).
   */
  const settled = async (targetId: string, act: () => Promise<unknown>) => {
    await page.evaluate((id) => {
      window.settled = false;
      window.awaited = id;
      if (window.listening) return;
      window.listening = true;
      document.addEventListener('htmx:afterSettle', (event) => {
        if (event.detail.target.id === window.awaited) window.settled = true;
      });
    }, targetId);
    await act();
    await page.waitForFunction(() => window.settled === true);
  };

  /** Chooses a file and presses Parse; returns the preview's HTTP status. */
  const parse = async (name: string, content: Buffer | string): Promise<number> => {
    await page.setInputFiles('input[name=file]', {
      name,
      mimeType: 'text/csv',
      buffer: Buffer.isBuffer(content) ? content : Buffer.from(content),
    });
    let status = 0;
    await settled('preview', async () => {
      const answer = page.waitForResponse((response) => response.url().endsWith('/campaigns/new/preview'));
      await page.click('#parse');
      status = (await answer).status();
    });
    return status;
  };

  /** The preview's rows: [row number, the number column, the error code]. */
  const rowsOf = () =>
    page.$$eval('#preview-table tr[data-row]', (rows) =>
      rows.map((row) => [
        Number(row.getAttribute('data-row')),
        row.querySelector('td:nth-child(2)')?.textContent?.trim() ?? '',
        row.querySelector('[data-error]')?.getAttribute('data-error') ?? null,
      ]),
    );
  const messageOf = async (row: number) =>
    (await page.textContent(`#preview-table tr[data-row="${row}"] td.message`)) ?? '';

  return {
    running,
    page,
    newCampaign,
    settled,
    parse,
    rowsOf,
    messageOf,
    close: async () => {
      await browser.close();
      await running.close();
    },
  };
}

export type Wizard = Awaited<ReturnType<typeof openWizard>>;
