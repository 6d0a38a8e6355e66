import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { registerDevice, registerInAppApp } from '../../src/app/inapp.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { startReceiver } from './support.ts';

/** F6 in the web wizard: an In-App campaign to a CSV of consumer ids, its other columns the variables. */
let running: TestApp;
let admin: WebSession;
let proxy: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  proxy = await startReceiver(() => ({ status: 200, body: {} }));
  running = await startTestApp({}, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'sales' }, SYSTEM);
  await registerInAppApp(
    running.app,
    { accountId: 'default', appId: 'com.example.shop', platform: 'ios', provider: 'push-proxy', proxyUrl: proxy.url },
    SYSTEM,
  );
  for (const consumerId of ['u1', 'u2']) {
    await registerDevice(
      { ...running.app, personalData: running.app.channels.personalData },
      {
        accountId: 'default',
        consumerId,
        registration: { appId: 'com.example.shop', platform: 'ios', pushToken: `t-${consumerId}` },
      },
      SYSTEM,
    );
  }
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
  await proxy?.close();
});

async function publish(fields: Record<string, string>, csv: string) {
  const page = await admin.get('/campaigns/new/inapp');
  expect(page.status).toBe(200);
  const form = new FormData();
  form.set('_csrf', admin.csrf);
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  form.set('file', new Blob([csv], { type: 'text/csv' }), 'consumers.csv');
  return fetch(`${running.baseUrl}/campaigns/inapp`, {
    method: 'POST',
    body: form,
    headers: { cookie: admin.cookieHeader() },
    redirect: 'manual',
  });
}

const fields = { name: 'Web in-app', appId: 'com.example.shop', title: 'Hi', text: 'Hello {{first}}!', consent: 'on' };

describe('the In-App wizard', () => {
  it('publishes to the CSV’s consumer ids with their variables; a consumer without a device is skipped', async () => {
    const response = await publish(fields, 'consumerId,first,unused\nu1,Ana,x\nu2,Bo,y\nnobody,Cy,z\n');
    expect(response.status).toBe(303);
    const campaignId = /\/campaigns\/([0-9a-f]{32})/.exec(response.headers.get('location') ?? '')?.[1];
    expect(campaignId).toBeDefined();
    await waitForCampaign(running, campaignId!);
    const bodies = proxy.received.map((push) => `${push.body.consumerId}:${push.body.body}`).sort();
    expect(bodies).toEqual(['u1:Hello Ana!', 'u2:Hello Bo!']);
    await projectionsAtHead(running);
    const rows = await running.app
      .db('campaign_messages')
      .where({ campaign_id: campaignId })
      .orderBy('seq')
      .pluck('status');
    expect(rows).toEqual(['sent', 'sent', 'skipped']);
    expect((await admin.get(`/campaigns/${campaignId}`)).status).toBe(200);
  });

  it('refuses a file without a consumerId column, naming it, and keeps what was typed', async () => {
    const response = await publish(fields, 'phone,first\n+14155550100,Ana\n');
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain('consumerId column');
    expect(html).toContain('value="Web in-app"');
  });
});
