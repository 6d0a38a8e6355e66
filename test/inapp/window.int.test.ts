import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { registerInAppApp } from '../../src/app/inapp.ts';
import * as message from '../../src/domain/message.ts';
import { LinkSigner } from '../../src/infra/signed-links.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { eventually, projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { launchChromium } from '../support/chromium.ts';
import { apiAs, json, startReceiver } from './support.ts';

/**
 * F6's in-app messaging window: the push's deep link opens the message and image, records MessageRead, and the
 * consumer's reply reaches the agent inbox with the first message; the agent's answer shows in the window. Forged
 * and expired links show a clear page and record nothing.
 */
const screenshots = path.resolve(import.meta.dirname, '../../test-results');
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
let running: TestApp;
let proxy: Awaited<ReturnType<typeof startReceiver>>;
let images: Server;
let imageUrl: string;
let api: Awaited<ReturnType<typeof apiAs>>;
let templateId: string;

beforeAll(async () => {
  images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', () => resolve()));
  const address = images.address();
  imageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/sale.png`;
  proxy = await startReceiver(() => ({ status: 200, body: {} }));
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000', INAPP_IMAGE_HOSTS: '127.0.0.1' }, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'Shop help', isDefault: true }, SYSTEM);
  await registerInAppApp(
    running.app,
    {
      accountId: 'default',
      appId: 'com.example.shop',
      platform: 'android',
      provider: 'push-proxy',
      proxyUrl: proxy.url,
    },
    SYSTEM,
  );
  api = await apiAs(running, ['inapp:write', 'handoffs:write', 'campaigns:write']);
  const handoff = await api('/handoffs', {
    method: 'POST',
    body: JSON.stringify({
      name: 'Summer sale',
      skill: 'Shop help',
      channels: [
        {
          type: 'inapp',
          appId: 'com.example.shop',
          messageComponents: [
            { type: 'title', content: 'Summer sale' },
            { type: 'body', content: 'Hi {{name}}, 20% off everything today.' },
            { type: 'image', content: imageUrl },
          ],
        },
      ],
    }),
  });
  expect(handoff.status).toBe(201);
  templateId = (await json(handoff)).id;
  await mkdir(screenshots, { recursive: true });
});
afterAll(async () => {
  await running?.close();
  await proxy?.close();
  await new Promise<void>((resolve) => images?.close(() => resolve()));
});

/** A campaign to one consumer with a device; answers the deep link their push carried and the message id. */
async function pushTo(consumerId: string, name: string) {
  const device = await api(`/inapp/consumers/${consumerId}/devices`, {
    method: 'POST',
    body: JSON.stringify({ appId: 'com.example.shop', platform: 'android', pushToken: `tok-${consumerId}` }),
  });
  expect(device.status).toBe(201);
  const response = await api('/campaign', {
    method: 'POST',
    body: JSON.stringify({
      campaignName: `Sale for ${consumerId}`,
      skill: 'Shop help',
      templateId,
      consent: true,
      consumers: [{ consumerContent: { inapp: consumerId }, variables: { name } }],
    }),
  });
  const created = await json(response);
  expect(response.status, JSON.stringify(created)).toBe(201);
  await waitForCampaign(running, created.proactiveCampaignId);
  const messageId = created.acceptedConsumers[0].id as string;
  const push = proxy.received.find((request) => request.body.messageId === messageId)!;
  return { deepLink: push.body.deepLink as string, messageId };
}

describe('links that are not ours', () => {
  it('answers a forged or expired link with a clear 4xx page and records nothing', async () => {
    const { deepLink, messageId } = await pushTo('visitor', 'Vic');
    const token = deepLink.split('/m/')[1]!;
    const [payload, mac] = token.split('.');
    const signer = new LinkSigner(running.app.db);
    const link = {
      accountId: 'default',
      messageId,
      consumerRef: await running.app.channels.personalData.inAppConsumerRef('default', 'visitor'),
    };
    const expired = await signer.sign(link, new Date(Date.now() - 8 * 86_400_000), 7 * 86_400);
    const otherPayload = Buffer.from(
      JSON.stringify({ a: 'default', m: messageId, r: 'someone-else', e: 9_999_999_999 }),
    ).toString('base64url');
    await projectionsAtHead(running);
    const before = await running.app.store.headPosition();
    const cases: [string, number, string][] = [
      [`${payload}.${mac!.slice(0, -2)}AA`, 404, 'This link is not valid'],
      [`${otherPayload}.${mac}`, 404, 'This link is not valid'],
      ['nonsense', 404, 'This link is not valid'],
      [expired, 410, 'This link has expired'],
    ];
    for (const [candidate, status, heading] of cases) {
      const page = await fetch(`${running.baseUrl}/m/${candidate}`);
      expect(page.status, candidate).toBe(status);
      expect(await page.text()).toContain(heading);
      const reply = await fetch(`${running.baseUrl}/m/${candidate}/reply`, {
        method: 'POST',
        body: new URLSearchParams({ body: 'let me in' }),
      });
      expect(reply.status, candidate).toBe(status);
    }
    // The head may move meanwhile (a transaction elsewhere on the server ends); nothing the refused links could
    // have written is there.
    const since = await running.app.store.readAll(before, 1000);
    expect(
      since.filter(
        (event) => event.streamId === message.messageStream(messageId) || event.streamId.startsWith('conversation-'),
      ),
    ).toEqual([]);
    const events = await running.app.store.read(message.messageStream(messageId));
    expect(events.map((event) => event.type)).not.toContain('MessageRead');
  });
});

describe('the window in Chromium, with the agent inbox', () => {
  it('shows the message and image, records the read, routes the reply, and shows the agent’s answer', async () => {
    const { deepLink, messageId } = await pushTo('user1', 'Ana');
    const browser = await launchChromium();
    try {
      const phone = await browser.context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(deepLink);
      expect(await phone.locator('#message-title').textContent()).toBe('Summer sale');
      expect(await phone.locator('#message-text').textContent()).toBe('Hi Ana, 20% off everything today.');
      await eventually(
        () =>
          phone
            .locator('#message-image')
            .evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth === 1),
        'the image loads',
        10_000,
      );
      const events = await running.app.store.read(message.messageStream(messageId));
      expect(events.map((event) => event.type)).toContain('MessageRead');

      await phone.fill('textarea[name=body]', 'Does it include shoes?');
      await phone.click('#window-send');
      await phone.locator('#thread .bubble[data-from=consumer]', { hasText: 'Does it include shoes?' }).waitFor();
      await phone.screenshot({ path: path.join(screenshots, 'inapp-window.png'), fullPage: true });

      const agent = await browser.context.newPage();
      await agent.goto(`${running.baseUrl}/login`);
      await agent.fill('input[name=email]', TEST_ADMIN.email);
      await agent.fill('input[name=password]', TEST_ADMIN.password);
      await agent.click('button[type=submit]');
      await agent.waitForURL((url) => !url.pathname.startsWith('/login'));
      await agent.goto(`${running.baseUrl}/inbox`);
      const row = agent.locator('tr[data-conversation]', { hasText: 'In-App user1' });
      await row.waitFor({ timeout: 15_000 });
      await row.locator('a').click();
      await agent.waitForSelector('#transcript');
      const bubbles = agent.locator('#transcript .bubble');
      expect(await bubbles.nth(0).getAttribute('data-direction')).toBe('proactive');
      expect(await bubbles.nth(0).textContent()).toContain('Hi Ana, 20% off everything today.');
      expect(await bubbles.nth(1).textContent()).toContain('Does it include shoes?');
      await agent.fill('textarea[name=text]', 'Yes, shoes too!');
      await agent.click('#send-reply');
      await agent.locator('#transcript .bubble[data-direction=out]').waitFor();

      // The window polls its thread: the agent's answer appears without a reload.
      await phone
        .locator('#thread .bubble[data-from=agent]', { hasText: 'Yes, shoes too!' })
        .waitFor({ timeout: 10_000 });
      await phone.screenshot({ path: path.join(screenshots, 'inapp-window-answered.png'), fullPage: true });
      await projectionsAtHead(running);
      const row2 = await running.app
        .db('campaign_messages')
        .where({ account_id: 'default', message_id: messageId })
        .first('status');
      expect(row2.status).toBe('responded');
    } finally {
      await browser.close();
    }
  });
});
