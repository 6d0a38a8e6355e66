import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAgentReply } from '../../src/app/conversations.ts';
import { phone, SYSTEM } from '../dispatch/support.ts';
import { TEST_ADMIN } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import {
  approvedTemplate,
  conversationsOf,
  quickReplyTemplate,
  startWhatsAppApp,
  transcriptOf,
  type WhatsAppSetup,
  whatsAppCampaign,
} from './inbound-support.ts';

/**
 * The sandbox page in Chromium (issue 11): a WhatsApp template message shows as the consumer sees it (header
 * media, body with their values, footer, buttons), and tapping a quick reply or typing a reply there reaches the
 * app as an inbound WhatsApp message through the signed webhook.
 */
let setup: WhatsAppSetup;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const consumerPhone = phone(400);
const IMAGE = 'https://cdn.example.com/tables/terrace.jpg';
let offsetMs = 0;

beforeAll(async () => {
  setup = await startWhatsAppApp({ now: () => new Date(Date.now() + offsetMs) });
  const { templateId } = await approvedTemplate(setup.running, quickReplyTemplate);
  await whatsAppCampaign(setup, {
    templateId,
    name: 'Terrace',
    recipients: [{ phone: consumerPhone, variables: { '1': 'Ines', '2': 'six' }, headerVariables: { image: IMAGE } }],
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await setup?.running.close();
});

describe('the sandbox page on WhatsApp', () => {
  it('renders the template message and its quick replies; a tap and a typed reply arrive as WhatsApp messages', async () => {
    const { running } = setup;
    const page = await browser.context.newPage();
    await page.goto(`${running.baseUrl}/login`);
    await page.fill('input[name=email]', TEST_ADMIN.email);
    await page.fill('input[name=password]', TEST_ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));

    await page.goto(`${running.baseUrl}/sandbox`);
    const thread = page.locator(`article.thread[data-channel=whatsapp][data-phone="${consumerPhone}"]`);
    await thread.waitFor();
    expect(await thread.locator('header').textContent()).toContain('WhatsApp');
    const template = thread.locator('.bubble[data-template]');
    expect(await template.count()).toBe(1);
    expect(await template.locator('[data-header=image]').textContent()).toContain('terrace.jpg');
    expect(await template.locator('[data-header=image] a').getAttribute('href')).toBe(IMAGE);
    expect(await template.locator('[data-body]').textContent()).toBe('Hi Ines, your table for six is ready.');
    expect(await template.locator('[data-footer]').textContent()).toBe('Casa Outbound');
    expect(await template.locator('button[data-quick-reply]').allTextContents()).toEqual([
      '↩ On my way',
      '↩ Cancel it',
    ]);
    await page.screenshot({ path: '/tmp/wt11b-sandbox-template.png', fullPage: true });

    // The tap: the page reloads (HX-Refresh) with the consumer's message in the thread.
    await template.locator('button[data-quick-reply="Cancel it"]').click();
    await thread.locator('.bubble.in', { hasText: 'Cancel it' }).waitFor();
    const { rows, consumerRef } = await conversationsOf(running, consumerPhone);
    expect(rows[0]).toMatchObject({ channel: 'whatsapp', routing: 'first-reply' });
    const conversationId = String(rows[0]!.conversation_id);

    await thread.locator('form.reply input[name=body]').fill('Or could we have a table inside?');
    await thread.locator('form.reply button[type=submit]').click();
    await thread.locator('.bubble.in', { hasText: 'a table inside' }).waitFor();
    await expect
      .poll(async () => (await transcriptOf(running, conversationId, consumerRef)).slice(1))
      .toEqual([
        { direction: 'in', text: 'Cancel it', buttonPayload: 'Cancel it' },
        { direction: 'in', text: 'Or could we have a table inside?' },
      ]);

    // The agent's free-text answer shows in the same thread, from the WhatsApp sender.
    await sendAgentReply(
      { ...running.app, personalData: running.app.channels.personalData, providers: running.app.channels.providers },
      { accountId: 'default', conversationId, agentId: 'agent-1', text: 'Of course, by the window.' },
      SYSTEM,
    );
    await page.reload();
    await thread.locator('.bubble.out', { hasText: 'Of course, by the window.' }).waitFor();
    await page.screenshot({ path: '/tmp/wt11b-sandbox-thread.png', fullPage: true });

    // A day later the inbox says why it cannot answer on WhatsApp, in place of the reply form.
    await page.goto(`${running.baseUrl}/inbox/${conversationId}`);
    await page.locator('#reply-form').waitFor();
    offsetMs = 25 * 3_600_000;
    await page.reload();
    await page.locator('#reply-window-closed').waitFor();
    expect(await page.locator('#reply-form').count()).toBe(0);
    expect(await page.locator('#reply-window-closed').textContent()).toContain('24-hour window closed at');
    await page.screenshot({ path: '/tmp/wt11b-inbox-window-closed.png', fullPage: true });
  }, 90_000);
});
