import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { committedHead } from '../../support/app.ts';
import {
  json,
  type LivePersonBrand,
  lpPhone,
  OUTBOUND_NUMBER,
  startBrand,
  untilFinished,
} from './liveperson-support.ts';

/**
 * What happens to each consumer, in LivePerson's words: the conversations API's statuses stay within the proactive
 * FAQ's list, the reporting API carries the error dictionary's sources and codes, a text its variables take past
 * 140 characters goes out whole and is reported as several segments, and transactions and filtered analytics
 * answer the documented requests.
 */
let brand: LivePersonBrand;
let templateId: string;

beforeAll(async () => {
  brand = await startBrand();
  templateId = await brand.handoff('Outcomes', 'Hi ${{1}}, your parcel is on its way.', ['1']);
});
afterAll(async () => {
  await brand?.running.close();
});

const FAQ_STATUSES = ['DELIVERED', 'DRAFT', 'TOO_MANY_VARIABLES', 'FAILED', 'NOT_SENT', 'SKIPPED', 'SCHEDULED'];

async function settle() {
  const head = await committedHead(brand.running.app.db);
  if (head) {
    await waitForProjection(brand.running.app.db, ['conversations', 'opt-outs', 'campaign-messages'], head, {
      timeoutMs: 10_000,
    });
  }
}

async function reply(from: string, body: string) {
  const response = await fetch(`${brand.running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from: `+${from}`, to: `+${OUTBOUND_NUMBER}`, body }),
  });
  expect(response.status).toBeLessThan(300);
  await settle();
}

async function createCampaign(consumers: unknown[], name = 'Outcomes') {
  const response = await brand.call('/api/v2/account/default/campaign', {
    method: 'POST',
    body: JSON.stringify({
      campaignName: name,
      skill: 'sales',
      templateId,
      outboundNumber: OUTBOUND_NUMBER,
      consent: true,
      consumers,
    }),
  });
  expect(response.status).toBe(201);
  return json(response);
}

describe('outcomes in LivePerson’s vocabulary', () => {
  it('reports opt-outs, open conversations, Twilio refusals and carrier failures with the dictionary’s codes', async () => {
    // An open conversation for one consumer (a reply to an earlier campaign), an opt-out for another.
    const earlier = await createCampaign([{ consumerContent: { sms: lpPhone(20) }, variables: { 1: 'Ada' } }], 'Early');
    expect((await untilFinished(brand, earlier.proactiveCampaignId)).campaignStatus).toBe('FINISHED');
    await reply(lpPhone(20), 'Where is it?');
    await reply(lpPhone(23), 'STOP');
    const faults = await fetch(`${brand.running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        failNumbers: { [`+${lpPhone(21)}`]: 21211 },
        undeliverable: { [`+${lpPhone(22)}`]: 30003 },
      }),
    });
    expect(faults.status).toBeLessThan(300);

    const long = 'x'.repeat(150);
    const tooLong = 'y'.repeat(1550);
    const consumers = [20, 21, 22, 23, 24, 25, 26].map((index) => ({
      consumerContent: { sms: lpPhone(index) },
      variables: { 1: index === 24 ? long : index === 26 ? tooLong : `C${index}` },
    }));
    const created = await createCampaign(consumers);
    expect(created.failedConsumers).toEqual([]);
    const [open, refused, undelivered, optedOut, segmented, plain, overTwilio] = created.acceptedConsumers.map(
      (consumer: { id: string }) => consumer.id,
    );
    const campaignId = created.proactiveCampaignId;

    // The conversations API: only the FAQ's statuses. Wait for the carrier's verdict on the undeliverable one.
    const path = `/api/v2/account/default/campaign/${campaignId}/conversations`;
    // biome-ignore lint/suspicious/noExplicitAny: the JSON answer.
    let conversations: any;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      conversations = await json(await brand.call(path));
      const byId = new Map(conversations.conversations.map((entry: { id: string }) => [entry.id, entry]));
      if (
        conversations.campaignStatus === 'FINISHED' &&
        (byId.get(undelivered) as { status: string })?.status === 'FAILED'
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(conversations.campaignStatus).toBe('FINISHED');
    const statusOf = Object.fromEntries(
      conversations.conversations.map((entry: { id: string; status: string }) => [entry.id, entry.status]),
    );
    expect(statusOf).toEqual({
      [open]: 'FAILED',
      [refused]: 'FAILED',
      [undelivered]: 'FAILED',
      [optedOut]: 'SKIPPED',
      [segmented]: 'DELIVERED',
      [plain]: 'DELIVERED',
      [overTwilio]: 'FAILED',
    });
    for (const status of Object.values(statusOf)) expect(FAQ_STATUSES).toContain(status);

    // The long text went out whole (Twilio sends it as a concatenated, multi-part SMS).
    const sent = await brand.running.app
      .db('sandbox_messages')
      .where({ to: `+${lpPhone(24)}` })
      .first('body');
    expect(sent.body).toBe(`Hi ${long}, your parcel is on its way.\nTo stop receiving messages, reply STOP.`);

    // The campaign report: the error dictionary's sources and codes, and the segments.
    const report = await json(await brand.call(`/api/account/default/app/prmsg/campaigns/${campaignId}/`));
    const entry = (id: string) => report.consumersReport.find((candidate: { id: string }) => candidate.id === id);
    expect(entry(open)).toMatchObject({ status: 'FAILED', errorSource: 'proactive', errorCode: '1400', segments: 1 });
    expect(entry(refused)).toMatchObject({ status: 'FAILED', errorSource: 'outbound_twilio', errorCode: '21211' });
    expect(entry(undelivered)).toMatchObject({ status: 'FAILED', errorSource: 'twilio', errorCode: '30003' });
    expect(entry(optedOut)).toMatchObject({ status: 'SKIPPED', errorSource: null, errorCode: null });
    expect(entry(segmented)).toMatchObject({ errorCode: null, segments: 2 });
    // Past Twilio's 1,600 characters: refused by Twilio at send, as LivePerson reports it.
    expect(entry(overTwilio)).toMatchObject({
      status: 'FAILED',
      errorSource: 'outbound_twilio',
      errorCode: '21617',
      segments: 12,
    });
    expect(['SENT', 'DELIVERED']).toContain(entry(segmented).status);
    for (const failed of [open, refused, undelivered]) expect(entry(failed).errorMessage).toEqual(expect.any(String));

    // Campaign analytics: failures and skips counted as LivePerson counts them, errors keyed `<source>_<code>`.
    const analytics = await json(await brand.call(`/api/account/default/app/prmsg/campaigns/${campaignId}/analytics/`));
    expect(analytics.analytics).toHaveLength(1);
    expect(analytics.analytics[0]).toMatchObject({
      attempted: 7,
      eligible: 7,
      skipped: 1,
      failed: 4,
      sent: 3,
      error_aggregation: { proactive_1400: 1, outbound_twilio_21211: 1, outbound_twilio_21617: 1, twilio_30003: 1 },
    });

    // Transactions v2.0 with the documented body (our ids): the failed ones, every documented field.
    const start = Date.now() - 3_600_000;
    const end = Date.now() + 60_000;
    const filters = {
      channels: ['wa', 'sms'],
      skills: ['billing', 'sales'],
      messagestatus: ['FAILED', 'READ'],
      transactionids: [refused, undelivered, plain],
    };
    const transactions = await brand.call(
      `/api/account/default/app/prmsg/transactions/?attemptedStartTime=${start}&attemptedEndTime=${end}&v=2.0`,
      { method: 'POST', body: JSON.stringify({ offset: 0, limit: 1000, filters }) },
    );
    expect(transactions.status).toBe(200);
    const page = await json(transactions);
    expect(page.requestMetadata).toEqual({
      accountId: 'default',
      app: 'prmsg',
      attemptedStartTime: start,
      attemptedEndTime: end,
      filters,
    });
    expect(page.page).toEqual({ count: 2, offset: 0, limit: 1000 });
    expect(page.transactions.map((transaction: { transactionId: string }) => transaction.transactionId).sort()).toEqual(
      [refused, undelivered].sort(),
    );
    const carrier = page.transactions.find(
      (transaction: { transactionId: string }) => transaction.transactionId === undelivered,
    );
    expect(carrier).toEqual({
      channel: 'sms',
      skill: 'sales',
      transactionId: undelivered,
      attemptedTime: expect.any(String),
      cancelledTime: null,
      conversationId: null,
      conversationsClosedTime: null,
      conversationsCreatedTime: null,
      consumerId: expect.any(String),
      deliveredTime: null,
      eligibleTime: expect.any(String),
      errorCode: '30003',
      errorMessage: expect.any(String),
      errorSource: 'twilio',
      failedTime: expect.any(String),
      inviteTime: expect.any(String),
      optInsTime: null,
      optOutsTime: null,
      proactiveCampaignId: campaignId,
      readTime: null,
      sentTime: expect.any(String),
      initialSkill: 'sales',
      initialChannel: 'sms',
      handOffId: templateId,
      skippedTime: null,
      ivrNumber: '',
      messageStatus: 'FAILED',
      segments: 1,
    });
    expect(Date.parse(carrier.failedTime)).toBeGreaterThanOrEqual(Date.parse(carrier.sentTime));
    // Paging by offset: the second of the two, then none.
    const second = await json(
      await brand.call(
        `/api/account/default/app/prmsg/transactions/?attemptedStartTime=${start}&attemptedEndTime=${end}&v=2.0`,
        { method: 'POST', body: JSON.stringify({ offset: 1, limit: 1, filters }) },
      ),
    );
    expect(second.page).toEqual({ count: 1, offset: 1, limit: 1 });

    // Version 1.0 (no v): the documented body, a page token, the same transactions without messageStatus.
    const v1 = await brand.call(
      `/api/account/default/app/prmsg/transactions/?attemptedStartTime=${start}&attemptedEndTime=${end}`,
      { method: 'POST', body: JSON.stringify({ channels: ['sms'], skills: ['sales'] }) },
    );
    expect(v1.status).toBe(200);
    const v1Page = await json(v1);
    expect(v1Page.requestMetadata.filters).toEqual({ channels: ['sms'], skills: ['sales'] });
    expect(v1Page.page).toEqual({ count: 8, currentPage: expect.any(String) });
    const v1Carrier = v1Page.transactions.find(
      (transaction: { transactionId: string }) => transaction.transactionId === undelivered,
    );
    const { messageStatus: _status, ...withoutStatus } = carrier;
    expect(v1Carrier).toEqual(withoutStatus);

    // Account analytics with the documented filters: grouped by handoff and source as well.
    const filtered = await brand.call(
      `/api/account/default/app/prmsg/analytics/?attemptedStartTime=${start}&attemptedEndTime=${end}`,
      {
        method: 'POST',
        body: JSON.stringify({
          channels: ['sms'],
          skills: ['sales'],
          handoffids: [templateId, 'H987655'],
          source: ['API', 'UI', 'LPWF'],
        }),
      },
    );
    expect(filtered.status).toBe(200);
    const grouped = await json(filtered);
    expect(grouped.requestMetadata.filters).toEqual({
      channels: ['sms'],
      skills: ['sales'],
      handoffids: [templateId, 'H987655'],
      source: ['API', 'UI', 'LPWF'],
    });
    expect(grouped.analytics).toEqual([
      expect.objectContaining({ channel: 'sms', skill: 'sales', handoffid: templateId, source: 'API', attempted: 8 }),
    ]);
    // A filter that matches nothing answers an empty list, not an error.
    const none = await json(
      await brand.call(
        `/api/account/default/app/prmsg/analytics/?attemptedStartTime=${start}&attemptedEndTime=${end}`,
        {
          method: 'POST',
          body: JSON.stringify({ channels: ['inapp'] }),
        },
      ),
    );
    expect(none.analytics).toEqual([]);
  }, 120_000);
});
