import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phone } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import { signIn } from '../support/wizard.ts';
import { faults, readyWhatsAppAccount, SENDER } from './web-support.ts';

/**
 * Issue 11 in Chromium, end to end through the web tool: a template with a header image and two quick replies built
 * with its live preview, submitted and approved by the sandbox (the approval poll runs every 200 ms here), used in a
 * handoff, and that handoff's campaign sent from a CSV through the wizard. Screenshots go to /tmp/wt11a-*.png.
 */
let running: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const shot = (name: string) => `/tmp/wt11a-${name}.png`;
const IMAGE = 'https://cdn.example.com/summer.png';

beforeAll(async () => {
  running = await startTestApp({ TEMPLATE_POLL_MS: '200' }, { worker: true });
  await readyWhatsAppAccount(running);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

describe('WhatsApp in the web tool, in Chromium', () => {
  it('builds a rich template, sees it approved, uses it in a handoff and sends its campaign from the wizard', async () => {
    expect((await faults(running, { templateDecision: 'approved', callbackDelayMs: 20 })).status).toBe(200);
    const page = await browser.context.newPage();
    await signIn(page, running.baseUrl, TEST_ADMIN.email, TEST_ADMIN.password);

    // 1. The template builder, with its live preview.
    await page.goto(`${running.baseUrl}/templates/new`);
    await page.fill('input[name=name]', 'summer_drop');
    await page.selectOption('select[name=headerType]', 'image');
    await page.fill('input[name=headerUrl]', IMAGE);
    await page.fill('textarea[name=body]', 'Hi {{1}}, the summer drop is here.');
    await page.fill('input[name=sample1]', 'Ana');
    await page.fill('input[name=footer]', 'Acme');
    await page.selectOption('select[name=buttonsType]', 'quick-reply');
    await page.fill('input[name=reply1]', 'Show me');
    await page.fill('input[name=reply2]', 'Not now');
    await page.locator('[data-preview-body]', { hasText: 'Hi Ana, the summer drop is here.' }).waitFor();
    await page.locator('[data-preview-button=reply]', { hasText: 'Not now' }).waitFor();
    expect(await page.locator('[data-preview-button=reply]').count()).toBe(2);
    expect(await page.getAttribute('[data-preview-header=image]', 'src')).toBe(IMAGE);
    await page.screenshot({ path: shot('template-builder'), fullPage: true });
    await page.click('#save-template');
    await page.waitForURL((url) => url.pathname === '/templates');
    await page.locator('tr[data-template-name=summer_drop] [data-action=submit]').click();
    await page.waitForURL((url) => url.pathname === '/templates');
    await eventually(async () => {
      await page.goto(`${running.baseUrl}/templates?status=approved`);
      return (await page.locator('tr[data-template-name=summer_drop][data-status=approved]').count()) === 1;
    }, 'the template approved in the list');
    await page.screenshot({ path: shot('templates-approved'), fullPage: true });

    // 2. A handoff on WhatsApp with that template.
    await page.goto(`${running.baseUrl}/handoffs/new`);
    await page.fill('input[name=name]', 'Summer drop');
    await page.check('input[name=channel][value=wa]');
    expect(await page.isVisible('#sms-channel')).toBe(false);
    await page.selectOption('select[name=waOutboundnumber]', SENDER);
    await page.selectOption('select[name=templateId]', { label: 'summer_drop · card (rich: WhatsApp only)' });
    await page.screenshot({ path: shot('handoff-form'), fullPage: true });
    await page.click('#save-handoff');
    await page.waitForURL((url) => url.pathname === '/handoffs');
    await page.locator('tr[data-handoff="Summer drop"]').waitFor();

    // 3. The wizard: the handoff as the channel, the template's columns from a CSV, the preview, publish.
    await page.goto(`${running.baseUrl}/campaigns/new`);
    await page.fill('input[name=name]', 'Summer drop in the wizard');
    await page.selectOption('select[name=handoffId]', { label: 'WhatsApp · handoff Summer drop' });
    await page
      .locator('#template-preview [data-preview-body]', { hasText: 'Hi Ana, the summer drop is here.' })
      .waitFor();
    expect(await page.inputValue('input[name=name]')).toBe('Summer drop in the wizard');
    const csv = ['phone,first_name,image', `${phone(1)},Zoë,${IMAGE}`, `${phone(2)},Bo,http://cdn.example.com/b.png`];
    csv.push(`${phone(3)},Cy,https://cdn.example.com/c.jpg`);
    await page.setInputFiles('input[name=file]', {
      name: 'summer.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv.join('\n')),
    });
    await page.click('#parse');
    await page.locator('#preview-table tr[data-row="3"] [data-error=HEADER_VARIABLE_INVALID_URL]').waitFor();
    expect(await page.textContent('#preview-table tr[data-row="2"] td.message')).toBe(
      `[image] ${IMAGE}\nHi Zoë, the summer drop is here.\nAcme`,
    );
    expect(await page.textContent('#row-bubble [data-preview-body]')).toBe('Hi Zoë, the summer drop is here.');
    await page.screenshot({ path: shot('wizard-preview'), fullPage: true });
    await page.check('input[name=consent]');
    await page.click('#publish');
    await page.waitForURL(/\/campaigns\/[0-9a-f]{32}/);
    const campaignId = /\/campaigns\/([0-9a-f]{32})/.exec(page.url())![1]!;
    await page.waitForSelector('#progress:not([hx-get])', { timeout: 60_000 });
    await page.screenshot({ path: shot('campaign'), fullPage: true });

    const template = await running.app.db('templates').where({ name: 'summer_drop' }).first();
    const sent = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' }).orderBy('to');
    expect(sent.map((row) => [row.to, row.content_sid, JSON.parse(row.content_variables)])).toEqual([
      [`whatsapp:${phone(1)}`, template.content_sid, { '1': 'Zoë', '2': IMAGE }],
      [`whatsapp:${phone(3)}`, template.content_sid, { '1': 'Cy', '2': 'https://cdn.example.com/c.jpg' }],
    ]);
    const statuses = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default', campaign_id: campaignId })
      .orderBy('seq')
      .pluck('status');
    expect(statuses.every((status) => ['sent', 'delivered', 'read'].includes(status))).toBe(true);
    expect(await page.textContent('#recipients')).toContain('Hi Zoë, the summer drop is here.');
  }, 180_000);
});
