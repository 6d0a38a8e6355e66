import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { registerInAppApp } from '../../src/app/inapp.ts';
import * as consumer from '../../src/domain/consumer.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { apiAs, json, type ReceivedRequest, startReceiver, validSignature } from './support.ts';

/**
 * F6 end to end through the brand's push proxy (a local receiver): LivePerson's In-App campaign body, one signed
 * push per consumer with a device, Skipped `no-device` without one, retries through 5xx, 410 removing the device.
 */
let running: TestApp;
let api: Awaited<ReturnType<typeof apiAs>>;
let proxy: Awaited<ReturnType<typeof startReceiver>>;
let secret: string;
let templateId: string;
/** What the proxy answers, per consumer id: a list of statuses used up in turn, then 200. */
const script = new Map<string, number[]>();

beforeAll(async () => {
  proxy = await startReceiver((request: ReceivedRequest) => {
    const statuses = script.get(request.body?.consumerId) ?? [];
    const status = statuses.shift() ?? 200;
    return { status, body: status === 200 ? { id: `px-${request.body?.messageId}` } : { error: 'scripted' } };
  });
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' }, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'sales' }, SYSTEM);
  const app = await registerInAppApp(
    running.app,
    {
      accountId: 'default',
      appId: 'com.example.shop',
      platform: 'ios',
      provider: 'push-proxy',
      proxyUrl: `${proxy.url}/push`,
    },
    SYSTEM,
  );
  secret = app.secret!;
  api = await apiAs(running, ['inapp:write', 'handoffs:write', 'campaigns:write', 'campaigns:read']);
  const handoff = await api('/handoffs', {
    method: 'POST',
    body: JSON.stringify({
      name: 'Welcome in app',
      skill: 'sales',
      lookbackPeriodDay: 7,
      channels: [
        {
          type: 'inapp',
          appId: 'com.example.shop',
          defaultVariables: { '1': 'Hello there, welcome.' },
          messageComponents: [
            { type: 'title', content: 'Shop news' },
            { type: 'body', content: '${{1}}' },
            { type: 'image', content: 'https://images.example.com/welcome.png' },
          ],
        },
      ],
    }),
  });
  expect(handoff.status, JSON.stringify(await handoff.clone().json())).toBe(201);
  templateId = (await json(handoff)).id;
});
afterAll(async () => {
  await running?.close();
  await proxy?.close();
});

const registerDevice = async (consumerId: string, pushToken: string) => {
  const response = await api(`/inapp/consumers/${consumerId}/devices`, {
    method: 'POST',
    body: JSON.stringify({ appId: 'com.example.shop', platform: 'ios', pushToken }),
  });
  expect(response.status).toBe(201);
  return (await json(response)).deviceId as string;
};

/** LivePerson's "Inapp Handoff" request, field for field (its consumer ids and variables ours). */
const campaign = (consumers: unknown[]) =>
  api('/campaign', {
    method: 'POST',
    body: JSON.stringify({
      campaignName: 'TestInappProactiveAPI',
      skill: 'sales',
      templateId,
      consent: true,
      consumers,
    }),
  });

const statuses = async (campaignId: string) => {
  await projectionsAtHead(running);
  return running.app
    .db('campaign_messages')
    .where({ account_id: 'default', campaign_id: campaignId })
    .orderBy('seq')
    .select('status', 'reason', 'error_code', 'error_message');
};

describe('an In-App campaign through a push proxy', () => {
  it('accepts LivePerson’s example, pushes once per consumer with a device, signed, and skips one without', async () => {
    await registerDevice('user1', 'tok-user1');
    await registerDevice('user2', 'tok-user2');
    const response = await campaign([
      { consumerContent: { inapp: 'user1' }, variables: { '1': 'Hi user1, welcome to proactive messaging.' } },
      { consumerContent: { inapp: 'user2' } },
      { consumerContent: { inapp: 'never-logged-in' } },
      { consumerContent: { sms: '14155550123' } },
    ]);
    expect(response.status).toBe(201);
    const created = await json(response);
    expect(created.acceptedConsumers).toHaveLength(3);
    expect(created.acceptedConsumers[0]).toEqual({ id: expect.any(String), consumerContent: { inapp: 'user1' } });
    expect(created.acceptedConsumers[0]).not.toHaveProperty('phoneNumber');
    expect(created.failedConsumers).toEqual([
      { consumerContent: { sms: '14155550123' }, errorMessage: 'MISSING_CONSUMER_INFORMATION=INAPP' },
    ]);
    await waitForCampaign(running, created.proactiveCampaignId);

    const pushes = proxy.received.filter((request) =>
      created.acceptedConsumers.some((c: { id: string }) => c.id === request.body.messageId),
    );
    expect(pushes.map((push) => push.body.consumerId).sort()).toEqual(['user1', 'user2']);
    for (const push of pushes) {
      expect(push.path).toBe('/push');
      expect(validSignature(push, secret)).toBe(true);
      expect(push.body).toMatchObject({
        appId: 'com.example.shop',
        title: 'Shop news',
        imageUrl: 'https://images.example.com/welcome.png',
      });
      expect(push.body.deepLink).toMatch(new RegExp(`^${running.baseUrl}/m/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    }
    const byConsumer = Object.fromEntries(pushes.map((push) => [push.body.consumerId, push.body.body]));
    expect(byConsumer).toEqual({ user1: 'Hi user1, welcome to proactive messaging.', user2: 'Hello there, welcome.' });
    expect(await statuses(created.proactiveCampaignId)).toEqual([
      expect.objectContaining({ status: 'sent' }),
      expect.objectContaining({ status: 'sent' }),
      expect.objectContaining({ status: 'skipped', reason: 'no-device' }),
    ]);
  });

  it('accepts LivePerson’s In-App example as its page prints it, trailing comma included', async () => {
    await registerDevice('lp-user1', 'tok-lp-user1');
    const printed = `{
    "campaignName": "TestInappProactiveAPI",
    "skill": "sales",
    "templateId": "${templateId}",
    "consent": true,
    "consumers": [
        {
            "consumerContent": {"inapp": "lp-user1"},
            "variables": {
                "1": "Hi user1, welcome to proactive messaging.",
            }
        }
    ]
}`;
    const response = await api('/campaign', { method: 'POST', body: printed });
    expect(response.status).toBe(201);
    const created = await json(response);
    expect(created.failedConsumers).toEqual([]);
    expect(created.acceptedConsumers).toEqual([{ id: expect.any(String), consumerContent: { inapp: 'lp-user1' } }]);
    await waitForCampaign(running, created.proactiveCampaignId);
    const push = proxy.received.find((request) => request.body.messageId === created.acceptedConsumers[0].id);
    expect(push?.body.body).toBe('Hi user1, welcome to proactive messaging.');
    // Still JSON: a comma inside a string stays, and broken JSON is refused as before.
    const broken = await api('/campaign', { method: 'POST', body: '{"campaignName": "x",, }' });
    expect(broken.status).toBe(400);
    expect((await json(broken)).code).toBe('INVALID_JSON');
  });

  it('retries a proxy answering 500 for a while, and pushes once', async () => {
    await registerDevice('flaky', 'tok-flaky');
    script.set('flaky', [500, 503]);
    const created = await json(await campaign([{ consumerContent: { inapp: 'flaky' } }]));
    await waitForCampaign(running, created.proactiveCampaignId);
    const attempts = proxy.received.filter((request) => request.body.messageId === created.acceptedConsumers[0].id);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((attempt) => validSignature(attempt, secret))).toBe(true);
    expect(await statuses(created.proactiveCampaignId)).toEqual([expect.objectContaining({ status: 'sent' })]);
  });

  it('removes the device on 410 and fails the message with the reason; the next campaign skips it as no-device', async () => {
    const deviceId = await registerDevice('gone', 'tok-gone');
    script.set('gone', [410]);
    const created = await json(await campaign([{ consumerContent: { inapp: 'gone' } }]));
    await waitForCampaign(running, created.proactiveCampaignId);
    const [failed] = await statuses(created.proactiveCampaignId);
    expect(failed).toMatchObject({ status: 'failed', error_code: 'PUSH_PROXY_GONE' });
    expect(failed.error_message).toContain('410 Gone');
    const ref = await running.app.channels.personalData.inAppConsumerRef('default', 'gone');
    const events = await running.app.store.read(consumer.consumerStream('default', ref));
    expect(events.at(-1)).toMatchObject({ type: 'InAppDeviceRemoved', data: { deviceId, reason: 'gone' } });
    expect(await running.app.db('inapp_devices').where({ device_id: deviceId })).toHaveLength(0);

    const again = await json(await campaign([{ consumerContent: { inapp: 'gone' } }]));
    await waitForCampaign(running, again.proactiveCampaignId);
    expect(await statuses(again.proactiveCampaignId)).toEqual([
      expect.objectContaining({ status: 'skipped', reason: 'no-device' }),
    ]);
  });
});
