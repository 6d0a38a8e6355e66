import { generateKeyPairSync, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { registerInAppApp } from '../../src/app/inapp.ts';
import * as consumer from '../../src/domain/consumer.ts';
import { readyAccount, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { apiAs, json, type ReceivedRequest, startReceiver } from './support.ts';

/**
 * F6 through FCM HTTP v1, both of Google's ends played by local receivers: the OAuth2 token endpoint (the service
 * account's signed JWT checked against its public key) and messages:send; UNREGISTERED and INVALID_ARGUMENT remove
 * the device.
 */
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const serviceAccount = {
  type: 'service_account',
  project_id: 'shop-project',
  client_email: 'outbound@shop-project.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
const ACCESS_TOKEN = 'ya29.local-test-token';
let running: TestApp;
let google: Awaited<ReturnType<typeof startReceiver>>;
let fcm: Awaited<ReturnType<typeof startReceiver>>;
let api: Awaited<ReturnType<typeof apiAs>>;
let templateId: string;

/** A JWT assertion signed with the service account's key, for it, asking for FCM's scope. */
function validAssertion(request: ReceivedRequest): boolean {
  const form = new URLSearchParams(request.raw);
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return false;
  const [header, claims, signature] = (form.get('assertion') ?? '').split('.');
  if (!header || !claims || !signature) return false;
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${header}.${claims}`),
    publicKey,
    Buffer.from(signature, 'base64url'),
  );
  const body = JSON.parse(Buffer.from(claims, 'base64url').toString());
  return signed && body.iss === serviceAccount.client_email && String(body.scope).includes('firebase.messaging');
}

beforeAll(async () => {
  google = await startReceiver((request) =>
    validAssertion(request)
      ? { status: 200, body: { access_token: ACCESS_TOKEN, expires_in: 3600, token_type: 'Bearer' } }
      : { status: 400, body: { error: 'invalid_grant' } },
  );
  fcm = await startReceiver((request) => {
    if (request.headers.authorization !== `Bearer ${ACCESS_TOKEN}`)
      return { status: 401, body: { error: { code: 401, status: 'UNAUTHENTICATED' } } };
    const token = request.body?.message?.token;
    if (token === 'tok-dead') {
      return {
        status: 404,
        body: {
          error: {
            code: 404,
            status: 'NOT_FOUND',
            message: 'Requested entity was not found.',
            details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
          },
        },
      };
    }
    if (token === 'tok-garbled') {
      return {
        status: 400,
        body: {
          error: {
            code: 400,
            status: 'INVALID_ARGUMENT',
            message: 'The registration token is not a valid FCM registration token',
          },
        },
      };
    }
    return { status: 200, body: { name: `projects/shop-project/messages/${request.body?.message?.data?.messageId}` } };
  });
  running = await startTestApp(
    { API_RATE_LIMIT_TPS: '1000', FCM_BASE_URL: fcm.url, FCM_TOKEN_URL: `${google.url}/token` },
    { worker: true },
  );
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'sales' }, SYSTEM);
  await registerInAppApp(
    running.app,
    {
      accountId: 'default',
      appId: 'com.example.fcm',
      platform: 'android',
      provider: 'fcm',
      serviceAccount: JSON.stringify(serviceAccount),
    },
    SYSTEM,
  );
  api = await apiAs(running, ['inapp:write', 'handoffs:write', 'campaigns:write']);
  const handoff = await api('/handoffs', {
    method: 'POST',
    body: JSON.stringify({
      name: 'FCM news',
      skill: 'sales',
      channels: [
        {
          type: 'inapp',
          appId: 'com.example.fcm',
          messageComponents: [
            { type: 'title', content: 'News' },
            { type: 'body', content: 'Something new for you.' },
          ],
        },
      ],
    }),
  });
  expect(handoff.status).toBe(201);
  templateId = (await json(handoff)).id;
});
afterAll(async () => {
  await running?.close();
  await google?.close();
  await fcm?.close();
});

describe('an In-App campaign through FCM HTTP v1', () => {
  it('exchanges the service account for a token, sends one message per device, and removes dead tokens', async () => {
    const devices: Record<string, string> = {};
    for (const consumerId of ['alive', 'dead', 'garbled']) {
      const response = await api(`/inapp/consumers/${consumerId}/devices`, {
        method: 'POST',
        body: JSON.stringify({ appId: 'com.example.fcm', platform: 'android', pushToken: `tok-${consumerId}` }),
      });
      expect(response.status).toBe(201);
      devices[consumerId] = (await json(response)).deviceId;
    }
    const created = await json(
      await api('/campaign', {
        method: 'POST',
        body: JSON.stringify({
          campaignName: 'FCM',
          skill: 'sales',
          templateId,
          consent: true,
          consumers: ['alive', 'dead', 'garbled'].map((id) => ({ consumerContent: { inapp: id } })),
        }),
      }),
    );
    await waitForCampaign(running, created.proactiveCampaignId);

    expect(google.received.length).toBeGreaterThanOrEqual(1);
    expect(google.received.every(validAssertion)).toBe(true);
    const sends = fcm.received;
    expect(sends.every((send) => send.path === '/v1/projects/shop-project/messages:send')).toBe(true);
    expect(sends.map((send) => send.body.message.token).sort()).toEqual(['tok-alive', 'tok-dead', 'tok-garbled']);
    const alive = sends.find((send) => send.body.message.token === 'tok-alive')!;
    expect(alive.body.message.notification).toEqual({ title: 'News', body: 'Something new for you.' });
    expect(alive.body.message.data.deepLink).toMatch(/\/m\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    await projectionsAtHead(running);
    const rows = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default', campaign_id: created.proactiveCampaignId })
      .orderBy('seq')
      .select('status', 'error_code');
    expect(rows).toEqual([
      { status: 'sent', error_code: null },
      { status: 'failed', error_code: 'UNREGISTERED' },
      { status: 'failed', error_code: 'INVALID_ARGUMENT' },
    ]);
    for (const consumerId of ['dead', 'garbled']) {
      const ref = await running.app.channels.personalData.inAppConsumerRef('default', consumerId);
      const events = await running.app.store.read(consumer.consumerStream('default', ref));
      expect(events.at(-1)).toMatchObject({
        type: 'InAppDeviceRemoved',
        data: { deviceId: devices[consumerId], reason: 'unregistered' },
      });
    }
    const left = await running.app.db('inapp_devices').where({ account_id: 'default' }).pluck('device_id');
    expect(left).toEqual([devices.alive]);
  });
});
