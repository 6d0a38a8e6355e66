import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { signPayload } from '../../src/infra/signature.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { apiAs, json } from './support.ts';

/** F6 without a phone: the sandbox page registers its app and a device, receives the push, and opens the window. */
let running: TestApp;
let admin: WebSession;

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' }, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'sales' }, SYSTEM);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

describe('the In-App sandbox device', () => {
  it('receives a campaign’s push for a consumer it logged in, whose link opens the messaging window', async () => {
    expect((await admin.get('/sandbox/inapp')).html).toContain('No sandbox app yet.');
    expect((await admin.post('/sandbox/inapp/app', {})).status).toBe(303);
    await admin.get('/sandbox/inapp');
    expect((await admin.post('/sandbox/inapp/devices', { consumerId: 'user1' })).status).toBe(303);
    expect((await admin.get('/sandbox/inapp')).html).toMatch(/id="sandbox-devices">1</);

    const api = await apiAs(running, ['handoffs:write', 'campaigns:write']);
    const handoff = await json(
      await api('/handoffs', {
        method: 'POST',
        body: JSON.stringify({
          name: 'Sandbox try',
          skill: 'sales',
          channels: [
            {
              type: 'inapp',
              appId: 'sandbox.device',
              messageComponents: [
                { type: 'title', content: 'Hello' },
                { type: 'body', content: 'Your order shipped.' },
              ],
            },
          ],
        }),
      }),
    );
    const created = await json(
      await api('/campaign', {
        method: 'POST',
        body: JSON.stringify({
          campaignName: 'Try it',
          skill: 'sales',
          templateId: handoff.id,
          consent: true,
          consumers: [{ consumerContent: { inapp: 'user1' } }],
        }),
      }),
    );
    await waitForCampaign(running, created.proactiveCampaignId);
    let page = '';
    await eventually(async () => {
      page = (await admin.get('/sandbox/inapp')).html;
      return page.includes('Your order shipped.');
    }, 'the sandbox device shows the push');
    const deepLink = /href="([^"]+\/m\/[^"]+)" role="button" class="open-window"/.exec(page)?.[1];
    expect(deepLink).toBeDefined();
    const window = await fetch(deepLink!);
    expect(window.status).toBe(200);
    expect(await window.text()).toContain('Your order shipped.');
  });

  it('refuses a push without a valid signature, keeping nothing', async () => {
    const body = JSON.stringify({
      appId: 'sandbox.device',
      consumerId: 'x',
      messageId: 'm',
      deepLink: 'http://x/m/y',
      title: '',
      body: 'forged',
    });
    const forged = await fetch(`${running.baseUrl}/sandbox/inapp/push/default`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-outbound-signature': signPayload('not-the-secret', body, Math.floor(Date.now() / 1000)),
      },
      body,
    });
    expect(forged.status).toBe(403);
    expect(await running.app.db('sandbox_inapp_pushes').where({ body: 'forged' })).toHaveLength(0);
  });
});
