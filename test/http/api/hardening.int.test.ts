import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { readyAccount, SYSTEM } from '../../dispatch/support.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let limited: TestApp;
let accessToken: string;
let limitedToken: string;

async function tokenOn(app: TestApp): Promise<string> {
  const client = await createApiClient(
    app.app,
    { accountId: 'default', name: 'fuzz', scopes: [...API_SCOPES] },
    SYSTEM,
  );
  await waitForProjection(app.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  const response = await fetch(`${app.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  });
  return (await json(response)).access_token;
}

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '0' });
  await readyAccount(running);
  accessToken = await tokenOn(running);
  limited = await startTestApp({ API_RATE_LIMIT_TPS: '5' });
  limitedToken = await tokenOn(limited);
});
afterAll(async () => {
  await running?.close();
  await limited?.close();
});

const base = () => `${running.baseUrl}/api/v2/account/default`;
const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', ...headers },
    body,
  });

const sendTo = (url: string, method: string, query: string, body?: string) =>
  fetch(`${url}${query}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body,
  });

describe('hostile input on the Outbound API', () => {
  it('answers malformed JSON with 400 and the parse position, and a body over 5 MB with 413', async () => {
    const broken = await send('POST', '/campaign', '{"campaignName": "x", "consent": tru');
    expect(broken.status).toBe(400);
    const error = await json(broken);
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toMatch(/position \d+/);
    expect(error.requestTraceId).toEqual(expect.any(String));
    const truncated = await json(await send('POST', '/handoffs', '{"name": '));
    expect(truncated.message).toMatch(/position 9/);

    const huge = await send('POST', '/campaign', JSON.stringify({ campaignName: 'x'.repeat(5 * 1024 * 1024 + 10) }));
    expect(huge.status).toBe(413);
    expect((await json(huge)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('never answers 5xx: random and hostile bodies, queries and ids at every route get 4xx (or a GET’s answer) with JSON', async () => {
    const document = await json(await fetch(`${running.baseUrl}/api/docs/openapi.json`));
    const routes = Object.entries(document.paths as Record<string, Record<string, { requestBody?: unknown }>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => ({ path, method })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const before = await running.app.store.headPosition();

    const hostileString = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        '\u0000\u0001\u001f',
        '../../etc/passwd',
        '%00',
        '<script>',
      ),
      fc.constant('x'.repeat(70_000)),
      fc.constant('\u202e\ud83d\ude00\r\n'.repeat(500)),
    );
    const hostileValue = fc.oneof(
      { depthSize: 'small' },
      fc.anything({ maxDepth: 3, withNullPrototype: false }),
      hostileString,
      fc.integer(),
      fc.double(),
      fc.constant(null),
    );
    const knownFields = [
      'campaignName',
      'skill',
      'templateId',
      'outboundNumber',
      'consent',
      'consumers',
      'sendAt',
      'schedulingWindows',
      'name',
      'channels',
      'lookbackPeriodDay',
      'lookbackPeriodHour',
      'routeAllWithinLookback',
      'url',
      'secret',
    ];
    const hostileBody = fc.oneof(
      fc.dictionary(fc.constantFrom(...knownFields, '__proto__', 'constructor'), hostileValue, { maxKeys: 8 }),
      fc.constant({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
      fc.record({
        consumers: fc.array(fc.record({ consumerContent: fc.record({ sms: hostileValue }), variables: hostileValue }), {
          maxLength: 5,
        }),
      }),
      hostileValue,
    );
    const fill = (path: string, id: string) =>
      path.replace('{accountId}', 'default').replace(/\{\w+\}/g, encodeURIComponent(id));

    // Each problem is kept short (the generated bodies can be huge); any at all fails the test.
    const problems: string[] = [];
    for (const route of routes) {
      await fc.check(
        fc.asyncProperty(hostileBody, hostileString, hostileString, async (body, id, query) => {
          const path = fill(route.path, id);
          const raw = JSON.stringify(body) ?? 'null';
          // LivePerson's paths (Sentinel, domain API, /api/account/…) sit beside ours, at the root.
          const response = await sendTo(
            path.startsWith('/api/v2/account/default') ? `${base()}${path.slice(23)}` : `${running.baseUrl}${path}`,
            route.method.toUpperCase(),
            `?limit=${encodeURIComponent(query.slice(0, 200))}&from=${encodeURIComponent(query.slice(0, 200))}`,
            route.method === 'get' || route.method === 'delete' ? undefined : raw,
          );
          const text = await response.text();
          const where = `${route.method} ${route.path} → ${response.status} ${text.slice(0, 160)} (body ${raw.slice(0, 120)})`;
          let problem: string | null = null;
          if (response.status >= 500) problem = `5xx: ${where}`;
          else if ((route.method === 'post' || route.method === 'put') && response.status < 400)
            problem = `accepted a hostile body: ${where}`;
          else if (response.status !== 204) {
            try {
              JSON.parse(text);
            } catch {
              problem = `not JSON: ${where}`;
            }
          }
          if (problem) problems.push(problem);
          return problem === null;
        }),
        { numRuns: 60, endOnFailure: true },
      );
    }
    expect(problems).toEqual([]);
    // Nothing reached the prototype, and no hostile request wrote an event.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await running.app.store.headPosition()).toEqual(before);
  }, 300_000);
});

describe('rate limits', () => {
  it('answers a burst beyond the account’s TPS with 429 and Retry-After, per API', async () => {
    const hit = (path: string) =>
      fetch(`${limited.baseUrl}/api/v2/account/default${path}`, {
        headers: { authorization: `Bearer ${limitedToken}` },
      });
    const burst = await Promise.all(Array.from({ length: 20 }, () => hit('/campaign/nope')));
    const statuses = burst.map((response) => response.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((status) => status === 404).length).toBeGreaterThanOrEqual(1);
    const refused = burst.find((response) => response.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await json(refused)).code).toBe('TOO_MANY_REQUESTS');
    // Another API of the same account has its own budget.
    expect((await hit('/handoffs')).status).toBe(200);
  });

  it('limits LivePerson’s reporting APIs the same way, answering in LivePerson’s error body', async () => {
    const path = '/api/account/default/app/prmsg/analytics/?attemptedStartTime=1&attemptedEndTime=2';
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${limited.baseUrl}${path}`, { headers: { authorization: `Bearer ${limitedToken}` } }),
      ),
    );
    const statuses = burst.map((response) => response.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
    const refused = burst.find((response) => response.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await json(refused)).toMatchObject({
      code: 0,
      outboundCode: 'TOO_MANY_REQUESTS',
      requestTraceId: refused.headers.get('x-request-id'),
    });
  });
});
