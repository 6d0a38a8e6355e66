import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../../src/app/account-settings.ts';
import { createAccount } from '../../../src/app/accounts.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { SYSTEM } from '../../dispatch/support.ts';
import { committedHead } from '../../support/app.ts';
import {
  expiredToken,
  json,
  type LivePersonBrand,
  lpPhone,
  OUTBOUND_NUMBER,
  sentinelToken,
  startBrand,
} from './liveperson-support.ts';

/**
 * One test per documented example and FAQ rule of LivePerson's Proactive 2.0, Sentinel, domain, reporting and
 * configuration documents, sending their bodies field for field (only the account, ids and numbers changed).
 */
let brand: LivePersonBrand;
let oneVariable: string;
let threeVariables: string;
let fiveVariables: string;

beforeAll(async () => {
  brand = await startBrand();
  oneVariable = await brand.handoff('One', 'Hi ${{1}}', ['1']);
  threeVariables = await brand.handoff('Three', '${{1}} ${{2}} ${{3}}', ['1', '2', '3']);
  fiveVariables = await brand.handoff('Five', '${{1}} ${{2}} ${{3}} ${{4}} ${{5}}', ['1', '2', '3', '4', '5']);
});
afterAll(async () => {
  await brand?.running.close();
});

const campaign = (templateId: string, consumers: unknown[], extra: Record<string, unknown> = {}) => ({
  campaignName: 'TestProactiveAPI',
  skill: 'sales',
  templateId,
  outboundNumber: OUTBOUND_NUMBER,
  consent: true,
  consumers,
  ...extra,
});
const post = (body: unknown) =>
  brand.call('/api/v2/account/default/campaign', { method: 'POST', body: JSON.stringify(body) });

describe('Sentinel (AppJWT) and the domain API', () => {
  it('issues an AppJWT for the account’s API clients, and refuses anything else in OAuth’s words', async () => {
    const ok = await sentinelToken(brand.running.baseUrl, brand.clientId, brand.clientSecret);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });

    const wrong = await sentinelToken(brand.running.baseUrl, brand.clientId, 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(await json(wrong)).toMatchObject({ code: 0, error: 'invalid_client', requestTraceId: expect.any(String) });

    await createAccount(brand.running.app, { accountId: 'brand-b', name: 'B', defaultTimeZone: 'UTC' }, SYSTEM);
    const foreign = await sentinelToken(brand.running.baseUrl, brand.clientId, brand.clientSecret, 'brand-b');
    expect(foreign.status).toBe(401);

    const base = `${brand.running.baseUrl}/sentinel/api/account/default/app/token`;
    const form = new URLSearchParams({ client_id: brand.clientId, client_secret: brand.clientSecret });
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    const noVersion = await fetch(`${base}?grant_type=client_credentials`, {
      method: 'POST',
      headers: formHeaders,
      body: form,
    });
    expect(noVersion.status).toBe(400);
    expect(await json(noVersion)).toMatchObject({ code: 0, field: 'v' });
    const grant = await fetch(`${base}?v=1.0&grant_type=password`, {
      method: 'POST',
      headers: formHeaders,
      body: form,
    });
    expect(grant.status).toBe(400);
    expect(await json(grant)).toMatchObject({ error: 'unsupported_grant_type' });
    const asJson = await fetch(`${base}?v=1.0&grant_type=client_credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: brand.clientId, client_secret: brand.clientSecret }),
    });
    expect(asJson.status).toBe(400);
    expect(await json(asJson)).toMatchObject({ error: 'invalid_request' });
  });

  it('answers LivePerson’s documented body for an expired or invalid token on every LivePerson path', async () => {
    const expired = await expiredToken(brand.running, brand.clientId);
    const paths: [string, RequestInit][] = [
      ['/api/v2/account/default/campaign', { method: 'POST', body: JSON.stringify(campaign(oneVariable, [])) }],
      ['/api/v2/account/default/campaign/abc/conversations', {}],
      ['/api/account/default/app/prmsg/campaigns/abc/', {}],
      ['/api/account/default/app/prmsg/analytics/?attemptedStartTime=1&attemptedEndTime=2', {}],
      ['/api/account/default/app/prmsg/handoffs/list?v=1', {}],
    ];
    for (const [path, init] of paths) {
      const late = await brand.call(path, init, expired);
      expect(late.status, path).toBe(401);
      expect(await json(late), path).toEqual({
        code: 0,
        message: 'jwt expired',
        requestTraceId: late.headers.get('x-request-id'),
        outboundCode: 'TOKEN_EXPIRED',
      });
      const garbage = await brand.call(path, init, 'not.a.jwt');
      expect(garbage.status, path).toBe(401);
      expect(await json(garbage), path).toMatchObject({
        code: 0,
        message: 'invalid token',
        outboundCode: 'INVALID_TOKEN',
      });
    }
    // Our own paths keep our own codes.
    const ours = await brand.call('/api/v2/account/default/handoffs', {}, expired);
    expect(await json(ours)).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('points every service at this host, and refuses an unknown account', async () => {
    const host = new URL(brand.running.baseUrl).host;
    for (const service of ['agentVep', 'sentinel', 'prmsg', 'outboundReporting', 'handoff']) {
      const lookup = await fetch(
        `${brand.running.baseUrl}/api/account/default/service/${service}/baseURI.json?version=1.0`,
      );
      expect(await json(lookup)).toEqual({ service, account: 'default', baseURI: host });
    }
    const all = await json(
      await fetch(`${brand.running.baseUrl}/api/account/default/service/baseURI.json?version=1.0`),
    );
    expect(all.baseURIs).toContainEqual({ service: 'sentinel', account: 'default', baseURI: host });
    const unknown = await fetch(
      `${brand.running.baseUrl}/api/account/nobody/service/sentinel/baseURI.json?version=1.0`,
    );
    expect(unknown.status).toBe(401);
    expect(await json(unknown)).toMatchObject({ code: 0, outboundCode: 'ACCOUNT_NOT_FOUND' });
    const version = await fetch(`${brand.running.baseUrl}/api/account/default/service/sentinel/baseURI.json?version=9`);
    expect(version.status).toBe(400);
  });
});

describe('the campaign API’s documented examples', () => {
  it('SMS + WhatsApp handoff without a rich template: consumerContent echoed exactly as sent', async () => {
    const consumers = [
      { consumerContent: { sms: lpPhone(1), wa: lpPhone(1) }, variables: { 1: 'Test1', 2: 'Test2', 3: 'Test3' } },
      { consumerContent: { sms: lpPhone(2), wa: lpPhone(2) }, variables: { 1: 'Test1', 2: 'Test2', 3: 'Test3' } },
    ];
    const response = await post(campaign(threeVariables, consumers));
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.failedConsumers).toEqual([]);
    expect(body.acceptedConsumers).toEqual([
      { id: expect.any(String), phoneNumber: `+${lpPhone(1)}`, consumerContent: { sms: lpPhone(1), wa: lpPhone(1) } },
      { id: expect.any(String), phoneNumber: `+${lpPhone(2)}`, consumerContent: { sms: lpPhone(2), wa: lpPhone(2) } },
    ]);
  });

  it('the old version (consumerCountryCode + consumerPhoneNumber): accepted with phoneNumber only', async () => {
    const response = await post({
      campaignName: 'TestProactiveAPI',
      skill: 'sales',
      templateId: oneVariable,
      consent: true,
      outboundNumber: OUTBOUND_NUMBER,
      consumers: [
        { consumerCountryCode: '1', consumerPhoneNumber: lpPhone(3).slice(1), variables: { 1: 'Test outbound api' } },
      ],
    });
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body).toMatchObject({
      leCampaignId: expect.stringMatching(/^\d+$/),
      leEngagementId: expect.stringMatching(/^\d+$/),
      failedConsumers: [],
    });
    expect(body.acceptedConsumers).toEqual([{ id: expect.any(String), phoneNumber: `+${lpPhone(3)}` }]);
  });

  it('keeps leCampaignId and leEngagementId stable: the account’s campaign, the skill’s engagement', async () => {
    const first = await json(
      await post(campaign(oneVariable, [{ consumerContent: { sms: lpPhone(4) }, variables: { 1: 'a' } }])),
    );
    const second = await json(
      await post(campaign(oneVariable, [{ consumerContent: { sms: lpPhone(5) }, variables: { 1: 'b' } }])),
    );
    expect(second.leCampaignId).toBe(first.leCampaignId);
    expect(second.leEngagementId).toBe(first.leEngagementId);
    expect(second.proactiveCampaignId).not.toBe(first.proactiveCampaignId);
    await addSkill(brand.running.app, { accountId: 'default', name: 'billing' }, SYSTEM);
    const other = await json(
      await post(
        campaign(oneVariable, [{ consumerContent: { sms: lpPhone(6) }, variables: { 1: 'c' } }], { skill: 'billing' }),
      ),
    );
    expect(other.leCampaignId).toBe(first.leCampaignId);
    expect(other.leEngagementId).not.toBe(first.leEngagementId);
  });

  it('answers the FAQ’s per-consumer codes, each failed consumer as sent with phone (+) and countryCode', async () => {
    const consumers = [
      { consumerContent: { sms: lpPhone(10) }, variables: { 1: 'T1', 2: 'T2', 3: 'T3', 4: 'T4', 5: 'T5' } },
      { consumerContent: { sms: lpPhone(11) }, variables: { 1: 'Test1', 2: 'Test2', 3: 'Test3', 4: 'Test4' } },
      { consumerContent: { sms: lpPhone(10) }, variables: { 1: 'T1', 2: 'T2', 3: 'T3', 4: 'T4', 5: 'T5' } },
      { consumerContent: { sms: lpPhone(12) }, variables: { 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'e', 6: 'f' } },
      { consumerContent: { sms: lpPhone(13) }, variables: {} },
      { consumerContent: { sms: lpPhone(14) }, variables: { 1: 1, 2: 'b', 3: 'c', 4: 'd', 5: 'e' } },
      { consumerContent: { wa: lpPhone(15) }, variables: { 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'e' } },
      { consumerContent: { sms: '12' }, variables: { 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'e' } },
    ];
    const response = await post(campaign(fiveVariables, consumers));
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.acceptedConsumers).toHaveLength(1);
    expect(body.failedConsumers).toEqual([
      { ...consumers[1], phone: `+${lpPhone(11)}`, countryCode: 'US', errorMessage: 'MISSING_VARIABLE=5' },
      { ...consumers[2], phone: `+${lpPhone(10)}`, countryCode: 'US', errorMessage: 'DUPLICATE_NUMBER' },
      { ...consumers[3], phone: `+${lpPhone(12)}`, countryCode: 'US', errorMessage: 'TOO_MANY_VARIABLES' },
      { ...consumers[4], phone: `+${lpPhone(13)}`, countryCode: 'US', errorMessage: 'INSUFFICIENT_VARIABLES' },
      { ...consumers[5], phone: `+${lpPhone(14)}`, countryCode: 'US', errorMessage: 'VARIABLE_NOT_STRING=1' },
      {
        ...consumers[6],
        phone: `+${lpPhone(15)}`,
        countryCode: 'US',
        errorMessage: 'MISSING_CONSUMER_INFORMATION=SMS',
      },
      { ...consumers[7], phone: '+12', errorMessage: 'INVALID_NUMBER' },
    ]);
  });

  it('refuses a request missing a field with "Fields missing in request: <field>", writing nothing', async () => {
    // Earlier tests' campaigns are queued by the expander after their answer: wait for it, so what follows is ours.
    const earlier = await committedHead(brand.running.app.db);
    expect(
      await waitForProjection(brand.running.app.db, 'reactor:campaign-expander', earlier!, { timeoutMs: 20_000 }),
    ).toBe(true);
    const before = await brand.running.app.store.headPosition();
    const full = campaign(oneVariable, [{ consumerContent: { sms: lpPhone(30) }, variables: { 1: 'x' } }]);
    for (const field of ['campaignName', 'skill', 'templateId', 'consent', 'consumers'] as const) {
      const { [field]: _omitted, ...without } = full;
      const response = await post(without);
      expect(response.status, field).toBe(400);
      expect(await json(response), field).toMatchObject({
        message: `Fields missing in request: ${field}`,
        requestTraceId: expect.any(String),
      });
    }
    // A consumer without `variables` for a handoff that takes them: the whole request is refused.
    const noVariables = await post(
      campaign(oneVariable, [
        { consumerContent: { sms: lpPhone(31) }, variables: { 1: 'x' } },
        { consumerContent: { sms: lpPhone(32) } },
      ]),
    );
    expect(noVariables.status).toBe(400);
    expect(await json(noVariables)).toMatchObject({
      message: 'Fields missing in request: variables',
      field: 'consumers.1.variables',
    });
    const since = await brand.running.app.store.readAll(before, 1000);
    // Earlier campaigns may complete meanwhile; a refused request could only have drafted one or added recipients.
    const written = since.filter((event) =>
      ['CampaignDrafted', 'RecipientsAdded', 'MessageQueued'].includes(event.type),
    );
    expect(written).toEqual([]);

    // A handoff without variables needs none.
    const plain = await brand.handoff('Plain', 'Your order is ready.', []);
    const accepted = await post(campaign(plain, [{ consumerContent: { sms: lpPhone(33) } }]));
    expect(accepted.status).toBe(201);
    expect((await json(accepted)).acceptedConsumers).toHaveLength(1);
  });

  it('keeps the 140-character limit on the handoff’s own text', async () => {
    const response = await brand.call('/api/v2/account/default/handoffs', {
      method: 'POST',
      body: JSON.stringify({
        name: 'Too long',
        channels: [
          {
            type: 'sms-twilio',
            outboundnumber: `+${OUTBOUND_NUMBER}`,
            messageComponents: [{ type: 'body', content: 'x'.repeat(120) }],
          },
        ],
      }),
    });
    expect(response.status).toBe(400);
    expect((await json(response)).code).toBe('SMS_TOO_LONG');
  });
});
