import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerInAppApp } from '../../src/app/inapp.ts';
import * as consumer from '../../src/domain/consumer.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { apiAs, json } from './support.ts';

/** F6: apps in Settings, and the brand's backend registering and removing its consumers' devices over the API. */
let running: TestApp;
let api: Awaited<ReturnType<typeof apiAs>>;
let admin: WebSession;

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' });
  api = await apiAs(running, ['inapp:write']);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

const register = (consumerId: string, body: unknown) =>
  api(`/inapp/consumers/${encodeURIComponent(consumerId)}/devices`, { method: 'POST', body: JSON.stringify(body) });

describe('apps in Settings', () => {
  it('registers a push-proxy app showing its secret once, refuses a bad form naming the field, and at most 4 apps', async () => {
    expect((await admin.get('/settings/inapp')).html).toContain('No apps yet.');
    const bad = await admin.post('/settings/inapp', {
      appId: 'com.example.shop',
      platform: 'ios',
      provider: 'push-proxy',
      proxyUrl: 'ftp://x',
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('proxyUrl: must be an http(s) URL');
    expect(bad.html).toContain('value="com.example.shop"');

    const created = await admin.post('/settings/inapp', {
      appId: 'com.example.shop',
      platform: 'ios',
      provider: 'push-proxy',
      proxyUrl: 'https://push.example.com/outbound',
    });
    expect(created.status).toBe(200);
    const secret = /id="proxy-secret-value">(pxsec_[A-Za-z0-9_-]+)</.exec(created.html)?.[1];
    expect(secret).toBeDefined();
    const again = await admin.get('/settings/inapp');
    expect(again.html).toContain('com.example.shop');
    expect(again.html).not.toContain(secret!);
    const row = await running.app
      .db('inapp_app_credentials')
      .where({ account_id: 'default', app_id: 'com.example.shop' })
      .first();
    expect(row.proxy_secret).toBe(secret);

    const fcmBad = await admin.post('/settings/inapp', {
      appId: 'com.example.fcm',
      platform: 'android',
      provider: 'fcm',
      serviceAccount: '{"type":"service_account"}',
    });
    expect(fcmBad.status).toBe(400);
    expect(fcmBad.html).toContain('serviceAccount.project_id');

    for (const appId of ['com.example.two', 'com.example.three', 'com.example.four']) {
      await registerInAppApp(
        running.app,
        {
          accountId: 'default',
          appId,
          platform: 'android',
          provider: 'push-proxy',
          proxyUrl: 'https://push.example.com/x',
        },
        SYSTEM,
      );
    }
    const fifth = await admin.post('/settings/inapp', {
      appId: 'com.example.five',
      platform: 'web',
      provider: 'push-proxy',
      proxyUrl: 'https://push.example.com/y',
    });
    expect(fifth.status).toBe(422);
    expect(fifth.html).toContain('at most 4 apps');
  });
});

describe('device registration API', () => {
  it('answers 201 {deviceId}, the same id for the same token, and seals the token on the consumer stream', async () => {
    const first = await register('user1', {
      appId: 'com.example.shop',
      platform: 'ios',
      pushToken: 'token-secret-123',
      timeZone: 'Europe/Paris',
    });
    expect(first.status).toBe(201);
    const { deviceId } = await json(first);
    expect(deviceId).toMatch(/^dev_[0-9a-f]{24}$/);
    const second = await register('user1', {
      appId: 'com.example.shop',
      platform: 'ios',
      pushToken: 'token-secret-123',
      timeZone: 'Europe/Paris',
    });
    expect((await json(second)).deviceId).toBe(deviceId);

    const ref = await running.app.channels.personalData.inAppConsumerRef('default', 'user1');
    const events = await running.app.store.read(consumer.consumerStream('default', ref));
    expect(events.map((event) => event.type)).toEqual(['InAppDeviceRegistered']);
    expect(JSON.stringify(events.map((event) => event.data))).not.toContain('token-secret-123');
    expect(JSON.stringify(events.map((event) => event.data))).not.toContain('user1');
    const rows = await running.app.db('inapp_devices').where({ account_id: 'default', device_id: deviceId });
    expect(rows).toHaveLength(1);
    expect(rows[0].time_zone).toBe('Europe/Paris');
  });

  it('refuses bad input with 400 naming the field, and records nothing', async () => {
    const before = (await running.app.db('inapp_devices').count('* as n'))[0]!.n;
    const cases: [unknown, string][] = [
      [{ appId: 'com.example.shop', platform: 'blackberry', pushToken: 't' }, 'platform'],
      [{ appId: 'com.example.shop', platform: 'ios' }, 'pushToken'],
      [{ appId: 'com.unknown', platform: 'ios', pushToken: 't' }, 'appId'],
      [{ appId: 'com.example.shop', platform: 'ios', pushToken: 't', timeZone: 'Mars/Olympus' }, 'timeZone'],
      // Names of Object.prototype's properties are no apps.
      [{ appId: 'constructor', platform: 'ios', pushToken: 't' }, 'appId'],
      [{ appId: '__proto__', platform: 'ios', pushToken: 't' }, 'appId'],
    ];
    for (const [body, field] of cases) {
      const response = await register('user2', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await json(response)).field).toBe(field);
    }
    expect((await running.app.db('inapp_devices').count('* as n'))[0]!.n).toBe(before);
  });

  it('removes a device on logout (204), then 404 for it; needs the inapp:write scope', async () => {
    const { deviceId } = await json(
      await register('user3', { appId: 'com.example.shop', platform: 'android', pushToken: 'tok-3' }),
    );
    const removed = await api(`/inapp/consumers/user3/devices/${deviceId}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(await running.app.db('inapp_devices').where({ device_id: deviceId })).toHaveLength(0);
    expect((await api(`/inapp/consumers/user3/devices/${deviceId}`, { method: 'DELETE' })).status).toBe(404);
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect((await api(`/inapp/consumers/user3/devices/${name}`, { method: 'DELETE' })).status).toBe(404);
    }

    const reader = await apiAs(running, ['campaigns:read']);
    const refused = await reader('/inapp/consumers/user3/devices', {
      method: 'POST',
      body: JSON.stringify({ appId: 'com.example.shop', platform: 'ios', pushToken: 'x' }),
    });
    expect(refused.status).toBe(403);
  });

  it("is part of the consumer's data export: each device with its push token opened, the events too", async () => {
    await register('user4', { appId: 'com.example.shop', platform: 'ios', pushToken: 'tok-export-4' });
    const gdpr = await apiAs(running, ['gdpr:read']);
    const response = await gdpr('/gdpr/export?consumerId=user4');
    expect(response.status).toBe(200);
    const exported = await json(response);
    expect(exported.devices).toEqual([
      expect.objectContaining({
        appId: 'com.example.shop',
        platform: 'ios',
        push: { consumerId: 'user4', pushToken: 'tok-export-4' },
      }),
    ]);
    const registered = exported.events.find((event: { type: string }) => event.type === 'InAppDeviceRegistered');
    expect(registered.data.push).toEqual({ consumerId: 'user4', pushToken: 'tok-export-4' });
    expect(JSON.stringify(registered.data)).not.toContain('sealedToken');
  });
});
