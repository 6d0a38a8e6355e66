import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../../src/app/accounts.ts';
import { phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from '../../dispatch/support.ts';
import { apiClientToken } from '../../support/api-client.ts';
import { committedEvents, eventually, startTestApp, type TestApp } from '../../support/app.ts';

/** F14 over the Outbound API (DESIGN §10): scopes, account isolation, shapes, validation, no oracle. */
// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let gdprToken: string;
const known = phone(9300);

function token(accountId: string, scopes: string[]): Promise<{ accessToken: string; clientId: string }> {
  return apiClientToken(running, { accountId, name: `client ${scopes.join(' ')}`, scopes });
}

function api(path: string, accessToken: string, init: RequestInit = {}, accountId = 'default') {
  return fetch(`${running.baseUrl}/api/v2/account/${accountId}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
  });
}

const erase = (body: unknown, accessToken = gdprToken, accountId = 'default') =>
  api('/gdpr/erasure', accessToken, { method: 'POST', body: JSON.stringify(body) }, accountId);

async function waitDone(erasureId: string, accessToken = gdprToken) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await api(`/gdpr/erasure/${erasureId}`, accessToken);
    expect(response.status).toBe(200);
    const body = await json(response);
    if (body.status === 'done') return body;
    if (Date.now() > deadline) expect.fail(`erasure ${erasureId} still ${body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' }, { worker: true });
  const { senderId } = await readyAccount(running);
  const sent = await sendCampaign(running, senderId, [{ phone: known, variables: { 1: 'Quokka-2468' } }], 'Hi ${{1}}');
  await waitForCampaign(running, sent.campaignId);
  gdprToken = (await token('default', ['gdpr:write', 'gdpr:read'])).accessToken;
});
afterAll(async () => {
  await running?.close();
});

describe('GDPR scopes and account isolation', () => {
  it('refuses a client without the scope (403), and gdpr:read cannot erase', async () => {
    const campaigns = (await token('default', ['campaigns:write', 'campaigns:read'])).accessToken;
    const reader = (await token('default', ['gdpr:read'])).accessToken;
    for (const accessToken of [campaigns, reader]) {
      const refused = await erase({ phone: known }, accessToken);
      expect(refused.status).toBe(403);
      expect(await json(refused)).toMatchObject({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'gdpr:write' });
    }
    const noExport = await api(`/gdpr/export?phone=${encodeURIComponent(known)}`, campaigns);
    expect(noExport.status).toBe(403);
    expect(await json(noExport)).toMatchObject({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'gdpr:read' });
    // Nothing was erased by the refusals.
    expect(await running.app.db('consumer_keys').whereNull('key')).toEqual([]);
  });

  it("cannot reach another account's consumers: not through its paths, not through its own", async () => {
    await createAccount(running.app, { accountId: 'other', name: 'Other brand' }, SYSTEM);
    const other = (await token('other', ['gdpr:write', 'gdpr:read'])).accessToken;
    const foreign = await api(`/gdpr/export?phone=${encodeURIComponent(known)}`, other);
    expect(foreign.status).toBe(403);
    expect(await json(foreign)).toMatchObject({ code: 'FORBIDDEN_ACCOUNT' });
    expect((await erase({ phone: known }, other)).status).toBe(403);
    // Its own path with our consumer's number finds nothing of ours.
    const own = await api(`/gdpr/export?phone=${encodeURIComponent(known)}`, other, {}, 'other');
    expect(own.status).toBe(200);
    const document = await json(own);
    expect(document).toMatchObject({ accountId: 'other', campaignMessages: [], conversations: [] });
    expect(document.events.filter((event: { type: string }) => event.type !== 'ConsumerDataExported')).toEqual([]);
    expect(JSON.stringify(document)).not.toContain('Quokka-2468');
    // And its erasure ids are not ours to read.
    const theirs = await json(await erase({ phone: phone(9301) }, other, 'other'));
    expect((await api(`/gdpr/erasure/${theirs.erasureId}`, gdprToken)).status).toBe(404);
  });
});

describe('export (DSAR)', () => {
  it('answers one JSON document of everything held, and records who exported it', async () => {
    const exporter = await token('default', ['gdpr:read']);
    // LivePerson's digits with the country code name the same consumer as E.164.
    const response = await api(`/gdpr/export?phone=${known.slice(1)}`, exporter.accessToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="consumer-export-/);
    const document = await json(response);
    expect(document.exportedBy).toBe(exporter.clientId);
    expect(document.campaignMessages).toEqual([
      expect.objectContaining({ status: 'delivered', campaignName: 'Test campaign' }),
    ]);
    const recipient = document.events.find((event: { type: string }) => event.type === 'RecipientsAdded');
    expect(recipient.data.recipient.personalData).toEqual({ phone: known, variables: { 1: 'Quokka-2468' } });
    expect(recipient.data.recipients).toBeUndefined();
    expect(document.consent.campaigns).toEqual([
      expect.objectContaining({ consent: true, source: 'api', recordedBy: 'test', name: 'Test campaign' }),
    ]);
    // By the export's id: the head position can lag this very append while other transactions on the server are
    // open, so waiting for it would not say the audit model has the export.
    const exported = () =>
      running.app
        .db('audit_events')
        .where({ account_id: 'default', type: 'ConsumerDataExported' })
        .whereRaw(`data->>'exportId' = ?`, [document.exportId])
        .first();
    await eventually(async () => Boolean(await exported()), 'the export is in the event history');
    const audit = await exported();
    expect(audit).toMatchObject({ actor: exporter.clientId });
    expect(audit.data).toMatchObject({ exportedBy: exporter.clientId, exportId: document.exportId });
  });

  it('names the field of a bad request and changes nothing', async () => {
    const head = await committedEvents(running);
    for (const [query, field] of [
      ['', 'phone'],
      ['?phone=not-a-number', 'phone'],
      [`?phone=${encodeURIComponent(known)}&consumerId=abc`, 'phone'],
    ] as const) {
      const response = await api(`/gdpr/export${query}`, gdprToken);
      expect(response.status, query).toBe(400);
      expect((await json(response)).field, query).toBe(field);
    }
    expect(await committedEvents(running)).toBe(head);
  });
});

describe('erasure', () => {
  it('validates its body, naming the field', async () => {
    const head = await committedEvents(running);
    for (const [body, field] of [
      [{}, 'phone'],
      [{ phone: '12' }, 'phone'],
      [{ phone: known, consumerId: 'c-1' }, 'phone'],
      [{ consumerId: '   ' }, 'consumerId'],
      [{ phone: 14155550100 }, 'phone'],
      [{ phone: known, extra: 1 }, 'body'],
    ] as const) {
      const response = await erase(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await json(response)).field, JSON.stringify(body)).toBe(field);
    }
    expect(await committedEvents(running)).toBe(head);
  });

  it('answers an unknown number exactly like a known one: 202 and an id that becomes done', async () => {
    const head = await committedEvents(running);
    const unknown = await erase({ phone: phone(9399) });
    expect(unknown.status).toBe(202);
    const body = await json(unknown);
    expect(Object.keys(body)).toEqual(['erasureId']);
    const state = await waitDone(body.erasureId);
    expect(Object.keys(state).sort()).toEqual(['completedAt', 'erasureId', 'requestedAt', 'status']);
    expect(await committedEvents(running)).toBe(head);
  });

  it('erases a known number: 202, then done once every read model applied it', async () => {
    const response = await erase({ phone: known });
    expect(response.status).toBe(202);
    const { erasureId } = await json(response);
    const state = await waitDone(erasureId);
    expect(state).toEqual({
      erasureId,
      status: 'done',
      requestedAt: expect.any(String),
      completedAt: expect.any(String),
    });
    expect(Date.parse(state.completedAt)).toBeGreaterThanOrEqual(Date.parse(state.requestedAt));
    const exported = await json(await api(`/gdpr/export?phone=${encodeURIComponent(known)}`, gdprToken));
    expect(JSON.stringify(exported)).not.toContain('Quokka-2468');
    expect(JSON.stringify(exported)).not.toContain(known.slice(1));
    expect(exported.campaignMessages).toEqual([expect.objectContaining({ status: 'delivered' })]);
    expect((await running.app.db('sandbox_messages').where({ to: known })).length).toBe(0);
  });

  it('erases an in-app consumer by consumerId', async () => {
    const response = await erase({ consumerId: 'app-user-42' });
    expect(response.status).toBe(202);
    expect((await waitDone((await json(response)).erasureId)).status).toBe('done');
  });

  it('answers 404 for an erasure id it does not know', async () => {
    for (const id of ['00000000-0000-0000-0000-000000000000', 'nope']) {
      const response = await api(`/gdpr/erasure/${id}`, gdprToken);
      expect(response.status).toBe(404);
      expect(await json(response)).toMatchObject({ code: 'ERASURE_NOT_FOUND' });
    }
  });

  it('documents the routes in the OpenAPI document', async () => {
    const document = await json(await fetch(`${running.baseUrl}/api/docs/openapi.json`));
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v2/account/{accountId}/gdpr/erasure',
        '/api/v2/account/{accountId}/gdpr/erasure/{erasureId}',
        '/api/v2/account/{accountId}/gdpr/export',
      ]),
    );
  });
});

describe('consent', () => {
  it('answers the opt-in/opt-out history with how each change arrived, and records one through the API', async () => {
    const number = phone(9310);
    const stop = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: number, to: '+14155550100', body: 'stop' }),
    });
    expect(stop.status).toBe(201);
    const reader = (await token('default', ['gdpr:read'])).accessToken;
    const refused = await api('/gdpr/consent', reader, {
      method: 'POST',
      body: JSON.stringify({ phone: number, optedOut: false }),
    });
    expect(refused.status).toBe(403);
    const optIn = await api('/gdpr/consent', gdprToken, {
      method: 'POST',
      body: JSON.stringify({ phone: number, optedOut: false, channel: 'sms' }),
    });
    expect(optIn.status).toBe(200);
    expect(await json(optIn)).toEqual({
      optedOut: false,
      history: [
        { optedOut: true, keyword: 'STOP', channel: 'sms', via: 'keyword', at: expect.any(String) },
        { optedOut: false, keyword: null, channel: 'sms', via: 'api', at: expect.any(String) },
      ],
    });
    const read = await api(`/gdpr/consent?phone=${number.slice(1)}`, reader);
    expect((await json(read)).history.map((change: { via: string }) => change.via)).toEqual(['keyword', 'api']);
    const bad = await api('/gdpr/consent', gdprToken, {
      method: 'POST',
      body: JSON.stringify({ phone: number, optedOut: 'no' }),
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).field).toBe('optedOut');
  });
});
