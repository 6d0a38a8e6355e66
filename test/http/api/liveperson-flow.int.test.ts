import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { committedHead } from '../../support/app.ts';
import {
  json,
  type LivePersonBrand,
  lpPhone,
  OUTBOUND_NUMBER,
  sentinelToken,
  startBrand,
  untilFinished,
} from './liveperson-support.ts';

/**
 * LivePerson's documented flow, run against this host as a brand's existing integration would run it: domain
 * lookup → Sentinel token → create campaign → poll conversations → campaign report and analytics. Bodies are
 * the documents' own, with only the account, ids and phone numbers changed.
 */
let brand: LivePersonBrand;
let host: string;

beforeAll(async () => {
  brand = await startBrand();
  host = new URL(brand.running.baseUrl).host;
});
afterAll(async () => {
  await brand?.running.close();
});

const today = () => {
  const now = new Date();
  return `${String(now.getUTCMonth() + 1).padStart(2, '0')}-${String(now.getUTCDate()).padStart(2, '0')}-${now.getUTCFullYear()}`;
};

/** Reads the campaign report until every consumer has the wanted status (callbacks arrive on their own time). */
async function reportWhen(campaignId: string, done: (entries: { status: string }[]) => boolean) {
  // biome-ignore lint/suspicious/noExplicitAny: the JSON answer.
  let report: any;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    report = await json(await brand.call(`/api/account/default/app/prmsg/campaigns/${campaignId}/`));
    if (done(report.consumersReport)) return report;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return report;
}

async function reply(from: string, body: string) {
  const response = await fetch(`${brand.running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: `+${OUTBOUND_NUMBER}`, body }),
  });
  expect(response.status).toBeLessThan(300);
  const head = await committedHead(brand.running.app.db);
  if (head) await waitForProjection(brand.running.app.db, ['conversations', 'opt-outs'], head, { timeoutMs: 10_000 });
}

describe('LivePerson’s flow, end to end, on this host', () => {
  it('domain lookup → Sentinel token → create campaign → poll conversations → campaign report and analytics', async () => {
    // 1. The domain API points every service the flow looks up at this deployment.
    const services: Record<string, string> = {};
    for (const service of ['sentinel', 'agentVep', 'prmsg', 'outboundReporting']) {
      const lookup = await fetch(
        `${brand.running.baseUrl}/api/account/default/service/${service}/baseURI.json?version=1.0`,
      );
      expect(lookup.status).toBe(200);
      expect(await json(lookup)).toEqual({ service, account: 'default', baseURI: host });
      services[service] = `http://${host}`;
    }

    // 2. Sentinel's AppJWT call, on the host the lookup gave.
    const issued = await sentinelToken(services.sentinel!, brand.clientId, brand.clientSecret);
    expect(issued.status).toBe(200);
    const token = await json(issued);
    expect(token).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    const claims = decodeJwt(token.access_token);
    expect(claims.exp! - claims.iat!).toBe(3600);

    // 3. The documented SMS campaign request.
    const templateId = await brand.handoff('Flow', 'Hi, ${{1}}: your order is ready.', ['1']);
    const consumers = [
      { consumerContent: { sms: lpPhone(1) }, variables: { 1: 'Hello X' } },
      { consumerContent: { sms: lpPhone(2) }, variables: { 1: 'Hello Y' } },
    ];
    const created = await fetch(`${services.prmsg}/api/v2/account/default/campaign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        campaignName: 'TestProactiveAPI',
        skill: 'sales',
        templateId,
        outboundNumber: OUTBOUND_NUMBER,
        consent: true,
        consumers,
      }),
    });
    expect(created.status).toBe(201);
    const campaign = await json(created);
    expect(campaign).toEqual({
      proactiveCampaignId: expect.stringMatching(/^\w+$/),
      leCampaignId: expect.stringMatching(/^\d{10}$/),
      leEngagementId: expect.stringMatching(/^\d{10}$/),
      requestTraceId: created.headers.get('x-request-id'),
      failedConsumers: [],
      acceptedConsumers: [
        { id: expect.any(String), phoneNumber: `+${lpPhone(1)}`, consumerContent: { sms: lpPhone(1) } },
        { id: expect.any(String), phoneNumber: `+${lpPhone(2)}`, consumerContent: { sms: lpPhone(2) } },
      ],
    });
    const campaignId = campaign.proactiveCampaignId;
    const ids = campaign.acceptedConsumers.map((consumer: { id: string }) => consumer.id);

    // 4. Poll the conversations API until the campaign is finished: both messages reached the provider.
    const conversations = await untilFinished(brand, campaignId);
    expect(conversations.campaignStatus).toBe('FINISHED');
    expect(conversations.conversations).toEqual(
      ids.map((id: string) => ({ id, status: 'DELIVERED', conversationId: null, errorMessage: null })),
    );
    const sandbox = await brand.running.app
      .db('sandbox_messages')
      .where({ to: `+${lpPhone(1)}` })
      .first('body');
    expect(sandbox.body).toBe('Hi, Hello X: your order is ready.\nTo stop receiving messages, reply STOP.');

    // 5. The campaign report, once the carrier's receipts are in.
    const reportPath = `/api/account/default/app/prmsg/campaigns/${campaignId}/`;
    const report = await reportWhen(campaignId, (entries) => entries.every((entry) => entry.status === 'DELIVERED'));
    expect(report).toEqual({
      requestMetadata: { accountId: 'default', app: 'prmsg', proactiveCampaignId: campaignId },
      page: { count: 2, previousOffset: -1, currentOffset: 0, nextOffset: -1 },
      consumersReport: ids.map((id: string) => ({
        id,
        errorCode: null,
        errorMessage: null,
        errorSource: null,
        status: 'DELIVERED',
        consumerId: expect.stringMatching(/.+/),
        conversationId: null,
        segments: 1,
      })),
    });
    // Without the trailing slash too, and paged.
    const paged = await json(await brand.call(`${reportPath.slice(0, -1)}?limit=1&offset=1`));
    expect(paged.page).toEqual({ count: 1, previousOffset: 0, currentOffset: 1, nextOffset: -1 });
    expect(paged.consumersReport.map((entry: { id: string }) => entry.id)).toEqual([ids[1]]);

    // 6. Campaign analytics and account analytics, in LivePerson's fields.
    const row = {
      skill: 'sales',
      channel: 'sms',
      transactionday: today(),
      attempted: 2,
      eligible: 2,
      sent: 2,
      delivered: 2,
      read: 0,
      skipped: 0,
      failed: 0,
      conversationscreated: 0,
      conversationsclosed: 0,
      csat: null,
      error_aggregation: {},
    };
    const campaignAnalytics = await json(await brand.call(`${reportPath}analytics/`));
    expect(campaignAnalytics).toEqual({
      requestMetadata: {
        accountId: 'default',
        app: 'prmsg',
        proactiveCampaignId: campaignId,
        attemptedStartTime: expect.any(Number),
        attemptedEndTime: expect.any(Number),
      },
      analytics: [row],
    });
    const start = Date.now() - 3_600_000;
    const end = Date.now() + 60_000;
    const accountAnalytics = await brand.call(
      `/api/account/default/app/prmsg/analytics/?attemptedStartTime=${start}&attemptedEndTime=${end}`,
    );
    expect(accountAnalytics.status).toBe(200);
    expect(await json(accountAnalytics)).toEqual({
      requestMetadata: { accountId: 'default', app: 'prmsg', attemptedStartTime: start, attemptedEndTime: end },
      analytics: [row],
    });

    // 7. A reply opens a conversation: RESPONDED in the report, still DELIVERED (with the conversation) in the
    // conversations API, and counted as created, then closed.
    await reply(`+${lpPhone(1)}`, 'Thanks, on my way');
    const responded = await reportWhen(campaignId, (entries) => entries[0]?.status === 'RESPONDED');
    expect(responded.consumersReport[0]).toMatchObject({ status: 'RESPONDED', conversationId: expect.any(String) });
    const after = await json(await brand.call(`/api/v2/account/default/campaign/${campaignId}/conversations`));
    expect(after.conversations[0]).toEqual({
      id: ids[0],
      status: 'DELIVERED',
      conversationId: responded.consumersReport[0].conversationId,
      errorMessage: null,
    });
    const counted = await json(await brand.call(`${reportPath}analytics/`));
    expect(counted.analytics[0]).toMatchObject({ conversationscreated: 1, conversationsclosed: 0 });
  }, 120_000);
});
