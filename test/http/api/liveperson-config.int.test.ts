import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../../src/app/accounts.ts';
import { createApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { SYSTEM } from '../../dispatch/support.ts';
import { listRoutes } from '../../support/routes.ts';
import { json, type LivePersonBrand, OUTBOUND_NUMBER, sentinelToken, startBrand } from './liveperson-support.ts';

/**
 * LivePerson's Outbound Configuration API as documented, the reporting API's refusals in its error body, and the
 * LivePerson paths in our OpenAPI document.
 */
let brand: LivePersonBrand;
let oneVariable: string;

beforeAll(async () => {
  brand = await startBrand();
  oneVariable = await brand.handoff('One', 'Hi ${{1}}', ['1']);
  await brand.handoff('Three', '${{1}} ${{2}} ${{3}}', ['1', '2', '3']);
  await brand.handoff('Five', '${{1}} ${{2}} ${{3}} ${{4}} ${{5}}', ['1', '2', '3', '4', '5']);
});
afterAll(async () => {
  await brand?.running.close();
});

describe('the reporting and configuration APIs’ requests and errors', () => {
  it('lists handoffs (all, and by LivePerson’s channel names) as JSON arrays', async () => {
    const list = await brand.call('/api/account/default/app/prmsg/handoffs/list?v=1');
    expect(list.status).toBe(200);
    const handoffs = await json(list);
    expect(Array.isArray(handoffs)).toBe(true);
    const one = handoffs.find((handoff: { id: string }) => handoff.id === oneVariable);
    expect(one).toMatchObject({
      name: 'One',
      lookbackPeriodDay: 30,
      lookbackPeriodHour: 0,
      routeAllWithinLookback: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      channels: [
        {
          type: 'sms-twilio',
          outboundnumber: `+${OUTBOUND_NUMBER}`,
          messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'] }],
        },
      ],
    });
    const limited = await json(await brand.call('/api/account/default/app/prmsg/handoffs/list?v=1&limit=2&offset=1'));
    expect(limited).toEqual(handoffs.slice(1, 3));

    const sms = await json(await brand.call('/api/account/default/app/prmsg/handoffs/list/channel/sms-twilio?v=1'));
    expect(sms.length).toBe(handoffs.length);
    expect(sms.find((entry: { id: string }) => entry.id === oneVariable)).toMatchObject({
      type: 'sms-twilio',
      outboundnumber: `+${OUTBOUND_NUMBER}`,
      messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'] }],
      id: oneVariable,
      name: 'One',
    });
    for (const channel of ['wa', 'inapp', 'googlercs']) {
      const none = await brand.call(`/api/account/default/app/prmsg/handoffs/list/channel/${channel}?v=1`);
      expect(await json(none), channel).toEqual([]);
    }
    const bad = await brand.call('/api/account/default/app/prmsg/handoffs/list/channel/fax?v=1');
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 0, field: 'channel' });
    const noVersion = await brand.call('/api/account/default/app/prmsg/handoffs/list');
    expect(noVersion.status).toBe(400);
    expect(await json(noVersion)).toMatchObject({ code: 0, message: 'Fields missing in request: v', field: 'v' });
  });

  it('answers bad reporting requests with LivePerson’s error body and our code beside it', async () => {
    const base = '/api/account/default/app/prmsg';
    const cases: [string, RequestInit, number, Record<string, unknown>][] = [
      [`${base}/analytics/`, {}, 400, { message: 'Fields missing in request: attemptedStartTime, attemptedEndTime' }],
      [`${base}/analytics/?attemptedStartTime=abc&attemptedEndTime=2`, {}, 400, { field: 'attemptedStartTime' }],
      [`${base}/analytics/?attemptedStartTime=5&attemptedEndTime=2`, {}, 400, { field: 'attemptedStartTime' }],
      [
        `${base}/analytics/?attemptedStartTime=0&attemptedEndTime=${61 * 86_400_000}`,
        {},
        400,
        { outboundCode: 'RANGE_TOO_LONG' },
      ],
      [
        `${base}/analytics/?attemptedStartTime=1&attemptedEndTime=2`,
        { method: 'POST', body: JSON.stringify({ channels: ['fax'] }) },
        400,
        { field: 'channels.0' },
      ],
      [
        `${base}/analytics/?attemptedStartTime=1&attemptedEndTime=2`,
        { method: 'POST', body: '{"channels": [' },
        400,
        { outboundCode: 'INVALID_JSON' },
      ],
      [
        `${base}/transactions/?attemptedStartTime=1&attemptedEndTime=2&v=3.0`,
        { method: 'POST', body: '{}' },
        400,
        { field: 'v' },
      ],
      [
        `${base}/transactions/?attemptedStartTime=1&attemptedEndTime=2`,
        { method: 'POST', body: JSON.stringify({ page: { nextPage: 'bm90IGEgcGFnZQ==' } }) },
        400,
        { field: 'page.nextPage' },
      ],
      [
        `${base}/transactions/?attemptedStartTime=0&attemptedEndTime=${25 * 3_600_000}&v=2.0`,
        { method: 'POST', body: '{}' },
        400,
        { outboundCode: 'RANGE_TOO_LONG' },
      ],
      [
        `${base}/transactions/?attemptedStartTime=1&attemptedEndTime=2&v=2.0`,
        { method: 'POST', body: JSON.stringify({ limit: 5001 }) },
        400,
        { field: 'limit' },
      ],
      [`${base}/campaigns/nosuchcampaign/`, {}, 404, { outboundCode: 'CAMPAIGN_NOT_FOUND' }],
      [`${base}/campaigns/nosuchcampaign/analytics/`, {}, 404, { outboundCode: 'CAMPAIGN_NOT_FOUND' }],
      [`${base}/nothing-here`, {}, 404, { outboundCode: 'NOT_FOUND' }],
      [
        '/api/account/default/app/c2m/analytics/?attemptedStartTime=1&attemptedEndTime=2',
        {},
        404,
        { outboundCode: 'NOT_FOUND' },
      ],
    ];
    for (const [path, init, status, expected] of cases) {
      const response = await brand.call(path, init);
      expect(response.status, path).toBe(status);
      expect(await json(response), path).toMatchObject({
        code: 0,
        message: expect.any(String),
        requestTraceId: response.headers.get('x-request-id'),
        ...expected,
      });
    }
    // A token of another account is refused on its paths.
    await createAccount(brand.running.app, { accountId: 'brand-c', name: 'C', defaultTimeZone: 'UTC' }, SYSTEM);
    const other = await createApiClient(
      brand.running.app,
      { accountId: 'brand-c', name: 'c', scopes: [...API_SCOPES] },
      SYSTEM,
    );
    await waitForProjection(brand.running.app.db, 'api-clients', other.position!, { timeoutMs: 5000 });
    const token = await json(await sentinelToken(brand.running.baseUrl, other.clientId, other.clientSecret, 'brand-c'));
    const foreign = await brand.call(`${base}/handoffs/list?v=1`, {}, token.access_token);
    expect(foreign.status).toBe(403);
    expect(await json(foreign)).toMatchObject({ code: 0, outboundCode: 'FORBIDDEN_ACCOUNT' });
  });

  it('documents the LivePerson paths in the OpenAPI document beside ours', async () => {
    const document = await json(await fetch(`${brand.running.baseUrl}/api/docs/openapi.json`));
    const paths = Object.keys(document.paths);
    for (const path of [
      '/api/v2/account/{accountId}/campaign',
      '/sentinel/api/account/{accountId}/app/token',
      '/api/account/{accountId}/service/{service}/baseURI.json',
      '/api/account/{accountId}/app/prmsg/campaigns/{id}/',
      '/api/account/{accountId}/app/prmsg/campaigns/{id}/analytics/',
      '/api/account/{accountId}/app/prmsg/analytics/',
      '/api/account/{accountId}/app/prmsg/transactions/',
      '/api/account/{accountId}/app/prmsg/handoffs/list',
      '/api/account/{accountId}/app/prmsg/handoffs/list/channel/{channel}',
    ]) {
      expect(paths, path).toContain(path);
    }
    expect(Object.keys(document.paths['/api/account/{accountId}/app/prmsg/analytics/'])).toEqual(['get', 'post']);
    // Every LivePerson route mounted is in the document.
    const documented = new Set(
      Object.entries(document.paths as Record<string, object>).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    const mounted = listRoutes(brand.running.http)
      .filter((route) => /^\/(api\/account|sentinel)\//.test(route.path))
      .map((route) => `${route.method} ${route.path}`);
    expect(mounted.length).toBeGreaterThanOrEqual(10);
    for (const route of mounted) expect(documented).toContain(route);
  });
});
