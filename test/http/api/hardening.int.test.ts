import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../../src/app/account-settings.ts';
import { createApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { readyAccount, SYSTEM } from '../../dispatch/support.ts';
import { committedEvents, startTestApp, type TestApp } from '../../support/app.ts';

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
/** `path` is under the account's /api/v2 base, or (LivePerson's own paths) from the host's root when it says so. */
const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
  fetch(path.startsWith('root:') ? `${running.baseUrl}${path.slice('root:'.length)}` : `${base()}${path}`, {
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
    const before = await committedEvents(running);

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
    expect(await committedEvents(running)).toBe(before);
  }, 300_000);
});

/** A path into a JSON body, e.g. ['consumers', 0, 'consumerContent', 'sms']. */
type BodyPath = (string | number)[];
interface StringField {
  path: BodyPath;
  /** The text goes into a key of the object at `path` (a record such as `variables`), not a value. */
  key: boolean;
}

/** Every place a string can go in a body of this JSON schema: values and record keys, through objects, arrays, unions. */
function stringFields(schema: Record<string, unknown> | undefined, path: BodyPath = []): StringField[] {
  if (!schema || path.length > 8) return [];
  const fields: StringField[] = [];
  const types = ([] as unknown[]).concat(schema.type ?? []);
  if (types.includes('string') || (Array.isArray(schema.enum) && schema.enum.some((v) => typeof v === 'string'))) {
    fields.push({ path, key: false });
  }
  for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
    fields.push(...stringFields(child, [...path, name]));
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    fields.push({ path, key: true });
    fields.push(...stringFields(schema.additionalProperties as Record<string, unknown>, [...path, '1']));
  }
  if (schema.items && typeof schema.items === 'object') {
    fields.push(...stringFields(schema.items as Record<string, unknown>, [...path, 0]));
  }
  for (const union of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const branch of (schema[union] ?? []) as Record<string, unknown>[]) fields.push(...stringFields(branch, path));
  }
  return fields;
}

/** `base` with `text` put at `field`, building the objects and arrays on the way. */
function poisoned(base: unknown, field: StringField, text: string): unknown {
  const root = structuredClone(base ?? {}) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = root;
  for (const [index, step] of field.path.entries()) {
    const last = index === field.path.length - 1;
    if (last && !field.key) {
      node[step] = text;
      return root;
    }
    const next = node[step];
    const wantArray = typeof field.path[index + 1] === 'number';
    if (next === null || typeof next !== 'object' || Array.isArray(next) !== wantArray)
      node[step] = wantArray ? [] : {};
    node = node[step] as Record<string | number, unknown>;
  }
  if (field.key) node[text] = 'value';
  else return text;
  return root;
}

/** Text Postgres cannot store: a NUL or a lone surrogate somewhere in otherwise ordinary text. */
const unstorableText = fc
  .tuple(
    fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
    fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'),
    fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  )
  .map(([before, bad, after]) => before + bad + after);

describe('text Postgres cannot store (NUL, lone surrogates)', () => {
  it('is refused in every string field of every API body, nested ones included, and every query and path, naming the field and writing nothing', async () => {
    await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
    const handoff = await send(
      'POST',
      '/handoffs',
      JSON.stringify({
        name: 'Hostile text',
        skill: 'Sales',
        channels: [
          {
            type: 'sms-twilio',
            outboundnumber: '+14155550100',
            messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'] }],
          },
        ],
      }),
    );
    expect(handoff.status).toBe(201);
    const handoffId = (await json(handoff)).id as string;
    // A body each writing route accepts as it is: poisoning one field is then the only reason to refuse it.
    const valid: Record<string, unknown> = {
      'post /campaign': {
        campaignName: 'Hostile',
        skill: 'Sales',
        templateId: handoffId,
        outboundNumber: '14155550100',
        consent: true,
        sendAt: new Date(Date.now() + 86_400_000).toISOString(),
        consumers: [{ consumerContent: { sms: '14155552671' }, variables: { 1: 'Ann' } }],
      },
      'post /handoffs': {
        name: 'Hostile 2',
        skill: 'Sales',
        channels: [
          {
            type: 'sms-twilio',
            outboundnumber: '+14155550100',
            messageComponents: [{ type: 'body', content: 'Hello', variables: [] }],
          },
        ],
      },
      'put /webhooks/status': { url: 'https://brand.example/outbound' },
    };
    for (const [route, body] of Object.entries(valid)) {
      const [method, path] = route.split(' ') as [string, string];
      const accepted = await send(method.toUpperCase(), path, JSON.stringify(body));
      expect(accepted.status, `${route} accepts its valid body: ${await accepted.text()}`).toBeLessThan(300);
    }
    if (valid['post /handoffs']) (valid['post /handoffs'] as { name: string }).name = 'Hostile 3';

    const document = await json(await fetch(`${running.baseUrl}/api/docs/openapi.json`));
    type Operation = {
      parameters?: { name: string; in: string }[];
      requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
    };
    const before = await committedEvents(running);
    const problems: string[] = [];
    let checked = 0;
    for (const [openApiPath, operations] of Object.entries(
      document.paths as Record<string, Record<string, Operation>>,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        // LivePerson's paths (the drop-in) are not under our base: sent from the root, for the same account.
        const path = openApiPath.startsWith('/api/v2/account/{accountId}')
          ? openApiPath.replace('/api/v2/account/{accountId}', '')
          : `root:${openApiPath.replace('{accountId}', 'default')}`;
        const concrete = path.replace(/\{\w+\}/g, 'nope');
        const base = valid[`${method} ${path}`] ?? {};
        const targets: { field: string; request: (text: string) => { url: string; body?: string } }[] = [];
        for (const field of stringFields(operation.requestBody?.content['application/json']?.schema)) {
          targets.push({
            field: field.path.join('.'),
            request: (text) => ({ url: concrete, body: JSON.stringify(poisoned(base, field, text)) }),
          });
        }
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in === 'query') {
            targets.push({
              field: parameter.name,
              // Query strings are UTF-8 on the wire, where a lone surrogate cannot exist: a NUL stands in for it.
              request: (text) => ({
                url: `${concrete}?${parameter.name}=${encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\u0000'))}`,
              }),
            });
          }
        }
        if (path.includes('{'))
          targets.push({ field: 'path', request: () => ({ url: path.replace(/\{\w+\}/g, 'a%00b') }) });
        for (const target of targets) {
          // Each failure is recorded in `problems`; the expectation below shows them all.
          await fc.check(
            fc.asyncProperty(unstorableText, async (text) => {
              const { url, body } = target.request(text);
              const response = await send(
                method.toUpperCase(),
                url,
                body ?? (method === 'get' || method === 'delete' ? undefined : JSON.stringify(base)),
              );
              const answer = await response.text();
              let parsed: { code?: string; field?: string } = {};
              try {
                parsed = JSON.parse(answer);
              } catch {}
              const ok = response.status === 400 && parsed.code === 'INVALID_TEXT' && parsed.field === target.field;
              if (!ok) problems.push(`${method} ${path} ${target.field}: ${response.status} ${answer.slice(0, 160)}`);
              return ok;
            }),
            { numRuns: 5, endOnFailure: true },
          );
          checked += 1;
        }
      }
    }
    expect(problems).toEqual([]);
    // Nested fields were reached: a consumer's number and variables, a handoff channel's message text.
    expect(checked).toBeGreaterThanOrEqual(30);
    expect(await committedEvents(running)).toBe(before);
    expect(await running.app.db('handoff_names').where('name_key', 'like', 'hostile%').count('* as n')).toEqual([
      { n: '2' },
    ]);
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
