import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../../src/app/account-settings.ts';
import { createAccount } from '../../../src/app/accounts.ts';
import { createApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { phone, readyAccount, SYSTEM } from '../../dispatch/support.ts';
import { committedHead, eventually, projectionsAtHead, startTestApp, type TestApp } from '../../support/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let base: string;
let accessToken: string;
let templateId: string;

/** The brand's webhook receiver: verifies each signature, fails the first try of every 10th event. */
interface Received {
  eventId: string;
  valid: boolean;
  body: { id: string; status: string; proactiveCampaignId: string; eventId: string };
}
const received: Received[] = [];
const refusedOnce = new Set<string>();
let receiver: Server;
let receiverUrl: string;
let webhookSecret: string;

function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const eventId = String(req.headers['x-outbound-event-id']);
      const signature = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-outbound-signature']));
      const expected = signature
        ? createHmac('sha256', webhookSecret).update(`${signature[1]}.${raw}`).digest('hex')
        : '';
      received.push({ eventId, valid: signature?.[2] === expected, body: JSON.parse(raw) });
      if (received.length % 10 === 0 && !refusedOnce.has(eventId)) {
        refusedOnce.add(eventId);
        res.writeHead(500).end();
        return;
      }
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => {
    receiver.listen(0, '127.0.0.1', () => {
      const address = receiver.address();
      receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/outbound`;
      resolve();
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function api(path: string, init: RequestInit = {}, tokenOverride?: string) {
  return fetch(`${base}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${tokenOverride ?? accessToken}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  });
}

async function tokenFor(clientId: string, clientSecret: string): Promise<string> {
  const response = await fetch(`${running.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
  expect(response.status).toBe(200);
  return (await json(response)).access_token;
}

const campaignBody = (consumers: unknown[], extra: Record<string, unknown> = {}) => ({
  campaignName: 'Order ready',
  skill: 'Sales',
  templateId,
  outboundNumber: '14155550100',
  consent: true,
  consumers,
  ...extra,
});

/** LivePerson's form: digits with the country code and no `+`. */
const lpDigits = (index: number) => phone(index).slice(1);

beforeAll(async () => {
  await startReceiver();
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000', WEBHOOK_RETRY_BASE_MS: '50' }, { worker: true });
  base = `${running.baseUrl}/api/v2/account/default`;
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  const client = await createApiClient(
    running.app,
    { accountId: 'default', name: 'it', scopes: [...API_SCOPES] },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  // From here on, the client uses only HTTP.
  accessToken = await tokenFor(client.clientId, client.clientSecret);
  const handoff = await api('/handoffs', {
    method: 'POST',
    body: JSON.stringify({
      name: 'Order ready',
      skill: 'Sales',
      lookbackPeriodDay: 7,
      channels: [
        {
          type: 'sms-twilio',
          outboundnumber: '+14155550100',
          messageComponents: [{ type: 'body', content: 'Hi ${{1}}, order ${{2}} is ready.', variables: ['1', '2'] }],
        },
      ],
    }),
  });
  expect(handoff.status).toBe(201);
  templateId = (await json(handoff)).id;
  const webhook = await api('/webhooks/status', { method: 'PUT', body: JSON.stringify({ url: receiverUrl }) });
  expect(webhook.status).toBe(200);
  const registered = await json(webhook);
  expect(registered.url).toBe(receiverUrl);
  expect(registered.secret).toMatch(/^whsec_/);
  webhookSecret = registered.secret;
});
afterAll(async () => {
  await running?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('campaign API (LivePerson Proactive 2.0 shapes)', () => {
  it('takes 1,000 consumers through a handoff, splits accepted from failed with LivePerson codes, and sends', async () => {
    const consumers: unknown[] = Array.from({ length: 990 }, (_, index) => ({
      consumerContent: { sms: lpDigits(index) },
      variables: { 1: `N${index}`, 2: `#${index}` },
    }));
    // The legacy form, and E.164 with its `+`.
    consumers.push({
      consumerCountryCode: '1',
      consumerPhoneNumber: lpDigits(990).slice(1),
      variables: { 1: 'L', 2: '#L' },
    });
    consumers.push({ consumerContent: { sms: phone(991) }, variables: { 1: 'P', 2: '#P' } });
    // Eight bad ones, each with its own code.
    consumers.push({ consumerContent: { sms: '12' }, variables: { 1: 'x', 2: 'y' } }); // 992
    consumers.push({ consumerContent: { sms: lpDigits(3) }, variables: { 1: 'dup', 2: 'dup' } }); // 993
    consumers.push({ consumerContent: { wa: '14155550000' }, variables: { 1: 'x', 2: 'y' } }); // 994
    consumers.push({ consumerContent: { sms: lpDigits(995) }, variables: {} }); // 995
    consumers.push({ consumerContent: { sms: lpDigits(996) }, variables: { 1: 'x' } }); // 996
    consumers.push({ consumerContent: { sms: lpDigits(997) }, variables: { 1: 'x', 2: 'y', 3: 'z' } }); // 997
    consumers.push({ consumerContent: { sms: lpDigits(998) }, variables: { 1: 'x', 2: 7 } }); // 998
    consumers.push('not an object'); // 999
    expect(consumers).toHaveLength(1000);

    const response = await api('/campaign', { method: 'POST', body: JSON.stringify(campaignBody(consumers)) });
    expect(response.status).toBe(201);
    const created = await json(response);
    expect(created.proactiveCampaignId).toMatch(/^[0-9a-f]{32}$/);
    expect(created.requestTraceId).toBe(response.headers.get('x-request-id'));
    expect(created.acceptedConsumers).toHaveLength(992);
    // consumerContent comes back exactly as sent (LivePerson's digits), phoneNumber in E.164.
    expect(created.acceptedConsumers[0]).toEqual({
      id: expect.any(String),
      phoneNumber: phone(0),
      consumerContent: { sms: lpDigits(0) },
    });
    expect(created).toMatchObject({ leCampaignId: expect.stringMatching(/^\d+$/), leEngagementId: expect.any(String) });
    expect(created.acceptedConsumers[990]).toEqual({ id: expect.any(String), phoneNumber: phone(990) });
    expect(created.acceptedConsumers[991]).toEqual({
      id: expect.any(String),
      phoneNumber: phone(991),
      consumerContent: { sms: phone(991) },
    });
    expect(created.failedConsumers.map((failed: { errorMessage: string }) => failed.errorMessage)).toEqual([
      'INVALID_NUMBER',
      'DUPLICATE_NUMBER',
      'MISSING_CONSUMER_INFORMATION=SMS',
      'INSUFFICIENT_VARIABLES',
      'MISSING_VARIABLE=2',
      'TOO_MANY_VARIABLES',
      'VARIABLE_NOT_STRING=2',
      'MISSING_CONSUMER_INFORMATION=SMS',
    ]);
    expect(created.failedConsumers[0]).toMatchObject({ phone: '+12', variables: { 1: 'x', 2: 'y' } });
    expect(created.failedConsumers[3]).toMatchObject({ phone: phone(995), countryCode: 'US', variables: {} });

    const campaignId = created.proactiveCampaignId;
    let status: { status: string; counts: Record<string, number> } = { status: '', counts: {} };
    for (const deadline = Date.now() + 360_000; Date.now() < deadline; await sleep(250)) {
      status = await json(await api(`/campaign/${campaignId}`));
      if (status.status === 'FINISHED') break;
    }
    expect(status.status).toBe('FINISHED');
    // The campaigns read model says finished; the per-recipient and reporting read models may still be applying
    // the last sends. Everything below reads them once they have.
    const finishedAt = Date.now();
    await projectionsAtHead(running);
    console.log(`read-model lag after the campaign finished: ${Date.now() - finishedAt} ms`);
    expect((status.counts.SENT ?? 0) + (status.counts.DELIVERED ?? 0)).toBe(992);

    const sandbox = await running.app
      .db('sandbox_messages')
      .where({ to: phone(990) })
      .first('body');
    expect(sandbox.body).toBe('Hi L, order #L is ready.\nTo stop receiving messages, reply STOP.');

    // Per-recipient status, paged, with the ids given at creation.
    const first = await json(await api(`/campaign/${campaignId}/conversations?limit=500`));
    expect(first.campaignStatus).toBe('FINISHED');
    expect(first.conversations).toHaveLength(500);
    expect(first.page).toEqual({ count: 500, currentOffset: 0, nextOffset: 500 });
    const second = await json(await api(`/campaign/${campaignId}/conversations?limit=500&offset=500`));
    expect(second.page).toEqual({ count: 492, currentOffset: 500, nextOffset: null });
    const ids = [...first.conversations, ...second.conversations].map((conversation) => conversation.id);
    expect(ids).toEqual(created.acceptedConsumers.map((consumer: { id: string }) => consumer.id));
    // The FAQ's statuses: DELIVERED once the provider has the message.
    for (const conversation of [...first.conversations, ...second.conversations]) {
      expect(conversation.status).toBe('DELIVERED');
      expect(conversation.errorMessage).toBeNull();
    }

    // Reporting: per consumer, with the ids given at creation, and the day's analytics, once the read models have
    // applied every send (the campaign is finished, so every MessageSent is in the store). The lag is printed.
    const today = new Date().toISOString().slice(0, 10);
    const report = await json(await api(`/reporting/analytics?from=${today}&to=${today}&channel=sms&skill=Sales`));
    const row: Record<string, number> | undefined = report.analytics[0];
    expect(row).toMatchObject({ channel: 'sms', skill: 'Sales', transactionday: today, attempted: 992, eligible: 992 });
    expect(row!.sent).toBe(992);
    expect(row!.failed).toBe(0);
    const reportPage = await json(await api(`/reporting/campaigns/${campaignId}?limit=1000`));
    expect(reportPage.page).toEqual({ count: 992, previousOffset: null, currentOffset: 0, nextOffset: null });
    expect(reportPage.consumersReport.map((consumer: { id: string }) => consumer.id)).toEqual(ids);
    expect(reportPage.consumersReport[0]).toMatchObject({ errorCode: null, consumerId: expect.any(String) });

    // Status webhooks: every accepted consumer's SENT arrives signed; refused deliveries are retried. The sandbox's
    // callbacks keep adding statuses (DELIVERED) after the campaign finishes, so the checks are per delivery: those
    // the webhook reactor had made by a known position must each end delivered, received, and retried if refused.
    const sentIds = () =>
      new Set(
        received
          .filter((delivery) => delivery.body.status === 'SENT' && delivery.body.proactiveCampaignId === campaignId)
          .map((delivery) => delivery.body.id),
      );
    await eventually(async () => sentIds().size === 992, 'every SENT received', 240_000);
    const head = (await committedHead(running.app.db))!;
    expect(await waitForProjection(running.app.db, 'reactor:status-webhooks', head, { timeoutMs: 120_000 })).toBe(true);
    const made: string[] = (
      await running.app
        .db('webhook_deliveries')
        .where({ account_id: 'default', campaign_id: campaignId })
        .select('event_id')
    ).map((row) => row.event_id);
    expect(made.length).toBeGreaterThanOrEqual(992);
    const undelivered = () =>
      running.app
        .db('webhook_deliveries')
        .whereIn('event_id', made)
        .whereNot({ status: 'delivered' })
        .select('event_id', 'status', 'attempts', 'last_error');
    await eventually(async () => (await undelivered()).length === 0, 'every delivery made so far delivered', 240_000);
    expect(received.every((delivery) => delivery.valid)).toBe(true);
    expect(received.every((delivery) => delivery.body.eventId === delivery.eventId)).toBe(true);
    const receivedIds = new Set(received.map((delivery) => delivery.eventId));
    expect(made.filter((eventId) => !receivedIds.has(eventId))).toEqual([]);
    const refused = [...refusedOnce].filter((eventId) => made.includes(eventId));
    expect(refused.length).toBeGreaterThan(0);
    // Delivered after a refusal means received again.
    expect(refused.filter((eventId) => received.filter((r) => r.eventId === eventId).length < 2)).toEqual([]);
    expect((await json(await api('/webhooks/status'))).deliveries.failed).toBe(0);
  }, 900_000);

  it('answers a missing field in LivePerson’s words, and refuses bad fields naming them, creating nothing', async () => {
    const before = await running.app.store.headPosition();
    const { campaignName: _omitted, ...withoutName } = campaignBody([{ consumerContent: { sms: lpDigits(1) } }]);
    const missing = await api('/campaign', { method: 'POST', body: JSON.stringify(withoutName) });
    expect(missing.status).toBe(400);
    expect(await json(missing)).toMatchObject({
      code: 'FIELDS_MISSING',
      message: 'Fields missing in request: campaignName',
      requestTraceId: expect.any(String),
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ consent: false }, 'consent'],
      [{ templateId: 'nope' }, 'templateId'],
      [{ skill: 'Nobody' }, 'skill'],
      [{ outboundNumber: '19995550100' }, 'outboundNumber'],
      [{ campaignName: 'x'.repeat(256) }, 'campaignName'],
      [{ sendAt: '2001-01-01T00:00:00Z' }, 'sendAt'],
      [
        { schedulingWindows: [{ day: 'FUNDAY', startTime: { hour: 8, minute: 0 }, endTime: { hour: 9, minute: 0 } }] },
        'schedulingWindows.0.day',
      ],
      [
        { schedulingWindows: [{ day: 'MONDAY', startTime: { hour: 9, minute: 0 }, endTime: { hour: 8, minute: 0 } }] },
        'schedulingWindows.0',
      ],
      [{ consumers: Array.from({ length: 1001 }, () => ({})) }, 'consumers'],
    ];
    for (const [override, field] of cases) {
      const response = await api('/campaign', {
        method: 'POST',
        body: JSON.stringify({ ...campaignBody([{ consumerContent: { sms: lpDigits(1) } }]), ...override }),
      });
      expect(response.status, JSON.stringify(override)).toBe(400);
      expect((await json(response)).field, JSON.stringify(override)).toBe(field);
    }
    // Late delivery callbacks of the earlier campaign may land meanwhile; no refused request wrote anything.
    const since = await running.app.store.readAll(before, 1000);
    expect(since.filter((event) => event.streamId.startsWith('campaign-') || event.type === 'MessageQueued')).toEqual(
      [],
    );
  });

  it('schedules with sendAt and a per-campaign window, and cancels', async () => {
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const response = await api('/campaign', {
      method: 'POST',
      body: JSON.stringify(
        campaignBody([{ consumerContent: { sms: lpDigits(5000) }, variables: { 1: 'a', 2: 'b' } }], {
          sendAt,
          schedulingWindows: [{ day: 'MONDAY', startTime: { hour: 9, minute: 30 }, endTime: { hour: 17, minute: 0 } }],
        }),
      ),
    });
    expect(response.status).toBe(201);
    const { proactiveCampaignId } = await json(response);
    const status = await json(await api(`/campaign/${proactiveCampaignId}`));
    expect(status).toMatchObject({ status: 'SCHEDULED', sendAt });
    const events = await running.app.store.read(`campaign-${proactiveCampaignId}`);
    expect((events[0]!.data as { window: unknown }).window).toEqual({
      monday: { start: '09:30', end: '17:00' },
      tuesday: null,
      wednesday: null,
      thursday: null,
      friday: null,
      saturday: null,
      sunday: null,
    });

    const cancelled = await api(`/campaign/${proactiveCampaignId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(await json(cancelled)).toEqual({ proactiveCampaignId, status: 'CANCELLED' });
    expect((await json(await api(`/campaign/${proactiveCampaignId}`))).status).toBe('CANCELLED');
    const again = await api(`/campaign/${proactiveCampaignId}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await json(again)).code).toBe('CAMPAIGN_NOT_CANCELLABLE');
    expect((await api('/campaign/doesnotexist/cancel', { method: 'POST' })).status).toBe(404);
    expect((await api('/campaign/doesnotexist')).status).toBe(404);
  });

  it('keeps accounts apart: a token of account A on account B’s campaign paths gets 403', async () => {
    await createAccount(running.app, { accountId: 'brand-b', name: 'Brand B', defaultTimeZone: 'UTC' }, SYSTEM);
    const other = await createApiClient(
      running.app,
      { accountId: 'brand-b', name: 'b', scopes: [...API_SCOPES] },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'api-clients', other.position!, { timeoutMs: 5000 });
    const otherToken = await tokenFor(other.clientId, other.clientSecret);
    const response = await api('/campaign', { method: 'POST', body: JSON.stringify(campaignBody([])) }, otherToken);
    expect(response.status).toBe(403);
    // The campaign API is LivePerson's: its error body, with our code beside it.
    expect(await json(response)).toMatchObject({ code: 0, outboundCode: 'FORBIDDEN_ACCOUNT' });
    const list = await api('/campaign/anything', {}, otherToken);
    expect(list.status).toBe(403);
  });
});
