import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSender, addSkill } from '../../../src/app/account-settings.ts';
import { createAccount } from '../../../src/app/accounts.ts';
import { createApiClient, revokeApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { listRoutes } from '../../support/routes.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let base: string;
const system = { actor: 'test' };

async function token(clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(`${running.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  expect(response.status).toBe(200);
  return ((await json(response)) as { access_token: string }).access_token;
}

async function newClient(accountId: string, scopes: string[]) {
  const client = await createApiClient(
    running.app,
    { accountId, name: `client ${scopes.join(' ')}`.slice(0, 100), scopes },
    system,
  );
  await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  return client;
}

function api(path: string, accessToken: string, init: RequestInit = {}) {
  return fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
}

const smsHandoff = (name: string, content = 'Hi ${{1}}, your order ${{2}} is ready.') => ({
  name,
  skill: 'Sales',
  lookbackPeriodDay: 7,
  lookbackPeriodHour: 0,
  routeAllWithinLookback: false,
  channels: [
    {
      type: 'sms-twilio',
      language: 'en-US',
      outboundnumber: '+14155550100',
      messageComponents: [{ type: 'body', content, variables: ['1', '2'], optOut: 'Reply STOP to opt out.' }],
    },
  ],
});

let fullToken: string;

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' });
  base = `${running.baseUrl}/api/v2/account/default`;
  await addSender(running.app, { accountId: 'default', channel: 'sms', address: '+14155550100', rate: 1 }, system);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, system);
  const client = await newClient('default', [...API_SCOPES]);
  fullToken = await token(client.clientId, client.clientSecret);
});
afterAll(async () => {
  await running?.close();
});

describe('OAuth 2.0 client credentials', () => {
  it('answers a bearer token that lasts an hour', async () => {
    const client = await newClient('default', ['handoffs:read']);
    const response = await fetch(`${running.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await json(response)).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'handoffs:read' });
  });

  it.each([
    [
      'a wrong secret',
      { grant_type: 'client_credentials', client_id: 'oc_x', client_secret: 'nope' },
      401,
      'invalid_client',
    ],
    [
      'another grant',
      { grant_type: 'password', client_id: 'oc_x', client_secret: 'nope' },
      400,
      'unsupported_grant_type',
    ],
    ['no client id', { grant_type: 'client_credentials', client_secret: 'nope' }, 400, 'invalid_request'],
  ])('refuses %s', async (_name, form, status, error) => {
    const response = await fetch(`${running.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form as Record<string, string>),
    });
    expect(response.status).toBe(status);
    const body = await json(response);
    expect(body).toMatchObject({ error, code: error.toUpperCase() });
    expect(typeof body.requestTraceId).toBe('string');
  });
});

describe('bearer checks', () => {
  it('refuses a missing, foreign-account, wrong-scope, revoked or expired token with a JSON body', async () => {
    const none = await fetch(`${base}/handoffs`);
    expect(none.status).toBe(401);
    expect(await json(none)).toMatchObject({ code: 'UNAUTHORIZED', requestTraceId: expect.any(String) });

    await createAccount(running.app, { accountId: 'other', name: 'Other brand' }, system);
    const otherClient = await newClient('other', ['handoffs:read']);
    const otherToken = await token(otherClient.clientId, otherClient.clientSecret);
    const foreign = await api('/handoffs', otherToken);
    expect(foreign.status).toBe(403);
    expect(await json(foreign)).toMatchObject({ code: 'FORBIDDEN_ACCOUNT' });

    const readOnly = await newClient('default', ['reporting:read']);
    const wrongScope = await api('/handoffs', await token(readOnly.clientId, readOnly.clientSecret));
    expect(wrongScope.status).toBe(403);
    expect(await json(wrongScope)).toMatchObject({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'handoffs:read' });

    const doomed = await newClient('default', ['handoffs:read']);
    const doomedToken = await token(doomed.clientId, doomed.clientSecret);
    const revoked = await revokeApiClient(running.app, { accountId: 'default', clientId: doomed.clientId }, system);
    await waitForProjection(running.app.db, 'api-clients', revoked.position!, { timeoutMs: 5000 });
    expect((await api('/handoffs', doomedToken)).status).toBe(401);

    const key = await running.app.db('oauth_signing_keys').first('kid', 'secret');
    const expired = await new SignJWT({ account: 'default', scope: 'handoffs:read' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setSubject(doomed.clientId)
      .setIssuer('outbound')
      .setAudience('outbound-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new Uint8Array(key.secret));
    const late = await api('/handoffs', expired);
    expect(late.status).toBe(401);
    expect(await json(late)).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });
});

describe('API handoffs (F17)', () => {
  it('creates, lists and reads a handoff in LivePerson field names', async () => {
    const created = await api('/handoffs', fullToken, {
      method: 'POST',
      body: JSON.stringify({ ...smsHandoff('Order ready'), unknownField: 1 }),
    });
    expect(created.status).toBe(201);
    const handoff = await json(created);
    expect(handoff).toMatchObject({
      id: expect.stringMatching(/^[a-f0-9]{16}$/),
      name: 'Order ready',
      lookbackPeriodDay: 7,
    });
    expect(handoff).not.toHaveProperty('unknownField');

    const one = await api(`/handoffs/${handoff.id}`, fullToken);
    expect(one.status).toBe(200);
    expect(await json(one)).toMatchObject({
      id: handoff.id,
      channels: [{ type: 'sms-twilio', outboundnumber: '+14155550100' }],
    });

    const list = await json(await api('/handoffs?limit=10&channel=sms-twilio', fullToken));
    expect(list.handoffs.map((h: { id: string }) => h.id)).toContain(handoff.id);
    const inapp = await json(await api('/handoffs?channel=inapp', fullToken));
    expect(inapp.handoffs).toEqual([]);

    expect((await api('/handoffs/nope', fullToken)).status).toBe(404);
  });

  it('refuses bad handoffs with a clear error naming the field, creating nothing', async () => {
    const cases: [unknown, number, string, string][] = [
      [smsHandoff('Too long', 'x'.repeat(130)), 400, 'SMS_TOO_LONG', 'channels.0.messageComponents.0.content'],
      [
        {
          ...smsHandoff('No sender'),
          channels: [{ type: 'sms-twilio', messageComponents: [{ type: 'body', content: 'Hi' }] }],
        },
        400,
        'FIELD_REQUIRED',
        'channels.0.outboundnumber',
      ],
      [{ ...smsHandoff('Bad <name>') }, 400, 'INVALID_FIELD', 'name'],
      [
        { ...smsHandoff('Zero lookback'), lookbackPeriodDay: 0, lookbackPeriodHour: 0 },
        400,
        'INVALID_LOOKBACK',
        'lookbackPeriodHour',
      ],
      [{ ...smsHandoff('Unknown skill'), skill: 'Nope' }, 400, 'UNKNOWN_SKILL', 'skill'],
      [
        {
          ...smsHandoff('Wrong sender'),
          channels: [{ ...smsHandoff('x').channels[0], outboundnumber: '+14155550199' }],
        },
        400,
        'UNKNOWN_SENDER',
        'channels.0.outboundnumber',
      ],
    ];
    for (const [body, status, code, field] of cases) {
      const response = await api('/handoffs', fullToken, { method: 'POST', body: JSON.stringify(body) });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(await json(response)).toMatchObject({ code, field });
    }
    const missing = await api('/handoffs', fullToken, { method: 'POST', body: JSON.stringify({ channels: [] }) });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toMatchObject({ code: 'FIELDS_MISSING', message: 'Fields missing in request: name' });

    const broken = await api('/handoffs', fullToken, { method: 'POST', body: '{"name": "x",' });
    expect(broken.status).toBe(400);
    expect((await json(broken)).code).toBe('INVALID_JSON');

    const names = (await running.app.db('handoffs').where({ account_id: 'default' }).select('name')).map((r) => r.name);
    expect(names).not.toContain('Too long');
  });

  it('lets exactly one of several simultaneous creates take a name', async () => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        api('/handoffs', fullToken, {
          method: 'POST',
          body: JSON.stringify(smsHandoff(index % 2 ? 'Race name' : 'RACE NAME')),
        }),
      ),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it('refuses a second handoff with the same name', async () => {
    const first = await api('/handoffs', fullToken, {
      method: 'POST',
      body: JSON.stringify(smsHandoff('Unique name')),
    });
    expect(first.status).toBe(201);
    const second = await api('/handoffs', fullToken, {
      method: 'POST',
      body: JSON.stringify(smsHandoff('unique NAME')),
    });
    expect(second.status).toBe(409);
    expect(await json(second)).toMatchObject({ code: 'HANDOFF_NAME_TAKEN', field: 'name' });
  });

  it('replays an idempotent POST and refuses the same key with another body', async () => {
    const headers = { 'idempotency-key': 'create-welcome-1' };
    const body = JSON.stringify(smsHandoff('Welcome'));
    const first = await api('/handoffs', fullToken, { method: 'POST', body, headers });
    const again = await api('/handoffs', fullToken, { method: 'POST', body, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(again)).toEqual(await json(first));
    const rows = await running.app.db('handoffs').where({ account_id: 'default', name: 'Welcome' });
    expect(rows).toHaveLength(1);
    const other = await api('/handoffs', fullToken, {
      method: 'POST',
      body: JSON.stringify(smsHandoff('Other')),
      headers,
    });
    expect(other.status).toBe(422);
    expect(await json(other)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});

describe('API documentation', () => {
  it('documents every API route in the OpenAPI document', async () => {
    const document = await json(await fetch(`${running.baseUrl}/api/docs/openapi.json`));
    expect(document.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, object>)) {
      for (const method of Object.keys(operations))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    const mounted = listRoutes(running.http)
      .filter((route) => route.path.startsWith('/api/v2/'))
      .map((route) => `${route.method} ${route.path}`);
    expect(mounted.length).toBeGreaterThan(0);
    for (const route of mounted) expect(documented).toContain(route);
    const html = await (await fetch(`${running.baseUrl}/api/docs`)).text();
    expect(html).toContain('/api/v2/account/:accountId/handoffs');
  });
});
