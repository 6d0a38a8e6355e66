import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { addUser } from '../../src/app/accounts.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { launchChromium } from '../support/chromium.ts';

/** F18 in a real browser: an agent sees the conversation a reply opened, answers it, and closes it. */
const screenshots = path.resolve(import.meta.dirname, '../../test-results');
let running: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const consumerPhone = phone(9000);

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  const { senderId } = await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'Front desk', isDefault: true }, SYSTEM);
  const agent = await addUser(
    running.app,
    {
      accountId: 'default',
      email: 'agent@outbound.test',
      name: 'Alex Agent',
      role: 'agent',
      password: 'agent password 1',
    },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'users', agent.position!, { timeoutMs: 5000 });
  const created = await sendCampaign(running, senderId, [{ phone: consumerPhone }], 'Your room is ready.', {
    name: 'Check-in',
  });
  await waitForCampaign(running, created.campaignId);
  await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: consumerPhone, to: '+14155550100', body: 'Can I check in early?' }),
  });
  await mkdir(screenshots, { recursive: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
});

describe('agent inbox in Chromium', () => {
  it('shows the new conversation, opens it with the first proactive message, sends a reply, and closes it', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${running.baseUrl}/login`);
    await page.fill('input[name=email]', 'agent@outbound.test');
    await page.fill('input[name=password]', 'agent password 1');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));

    await page.goto(`${running.baseUrl}/inbox`);
    const row = page.locator('tr[data-conversation]', { hasText: consumerPhone });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('mark', { hasText: 'new' }).count()).toBe(1);
    await page.screenshot({ path: path.join(screenshots, 'inbox.png'), fullPage: true });

    await row.locator('a').click();
    await page.waitForSelector('#transcript');
    const bubbles = page.locator('#transcript .bubble');
    expect(await bubbles.nth(0).getAttribute('data-direction')).toBe('proactive');
    expect(await bubbles.nth(0).textContent()).toContain('Your room is ready.');
    expect(await bubbles.nth(0).textContent()).toContain('Proactive · Check-in');
    expect(await bubbles.nth(1).textContent()).toContain('Can I check in early?');

    // An empty reply is refused in the page, by the browser's own check; the server refuses it too.
    await page.fill('textarea[name=text]', 'Yes, from 11:00. See you soon!');
    await page.click('#send-reply');
    await page.locator('#transcript .bubble[data-direction=out]').waitFor();
    expect(await page.locator('#transcript .bubble[data-direction=out]').textContent()).toContain('Alex Agent');
    const delivered = await running.app.db('sandbox_messages').where({ to: consumerPhone }).orderBy('seq');
    expect(delivered.map((message) => message.body)).toContain('Yes, from 11:00. See you soon!');
    await page.screenshot({ path: path.join(screenshots, 'conversation.png'), fullPage: true });

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#close-conversation');
    await page.locator('#closed').waitFor();
    expect(await page.locator('#reply-form').count()).toBe(0);
    const closed = await running.app.db('conversations').where({ account_id: 'default' }).first('status', 'closed_by');
    expect(closed.status).toBe('closed');

    // The list no longer shows it as open; it is under Closed.
    await page.goto(`${running.baseUrl}/inbox`);
    expect(await page.locator('tr[data-conversation]').count()).toBe(0);
    await page.goto(`${running.baseUrl}/inbox?status=closed`);
    expect(await page.locator('tr[data-conversation]', { hasText: consumerPhone }).count()).toBe(1);
  }, 90_000);
});

describe('inbox rights', () => {
  it('lets a read-only role read conversations but not answer, transfer or close them (403, nothing sent)', async () => {
    const added = await addUser(
      running.app,
      { accountId: 'default', email: 'auditor@outbound.test', role: 'auditor', password: 'auditor password 1' },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'users', added.position!, { timeoutMs: 5000 });
    const auditor = new WebSession(running.baseUrl);
    expect((await auditor.login('auditor@outbound.test', 'auditor password 1')).status).toBe(303);
    const [row] = await running.app.db('conversations').where({ account_id: 'default' });
    const page = await auditor.get(`/inbox/${row.conversation_id}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Can I check in early?');
    expect(page.html).not.toContain('id="reply-form"');
    const before = await running.app.store.headPosition();
    const sent = await running.app.db('sandbox_messages').count('* as count');
    for (const action of ['reply', 'transfer', 'close']) {
      const forged = await auditor.post(`/inbox/${row.conversation_id}/${action}`, {
        text: 'forged',
        skill: row.skill_id,
      });
      expect(forged.status, action).toBe(403);
      expect(forged.html, action).toContain('Your role does not allow this');
    }
    // Late delivery callbacks may land meanwhile; nothing of the forged requests did.
    const since = await running.app.store.readAll(before, 1000);
    expect(since.filter((event) => event.streamId.startsWith('conversation-'))).toEqual([]);
    expect(await running.app.db('sandbox_messages').count('* as count')).toEqual(sent);
  });
});
