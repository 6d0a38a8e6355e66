import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../src/app/api-clients.ts';
import { freePort } from '../../src/infra/postgres.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { messageCounts, phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from './support.ts';

/** Providers that answer late, or not at all: nobody gets a message twice, and no message waits for ever. */

describe('a provider that stores a timed-out message only after the lease', () => {
  let running: TestApp;
  let senderId: string;
  const leaseMs = 4000;
  beforeAll(async () => {
    // Two seconds for every request: the held sends time out, and the reconciliation's looks must answer under load
    // (a look that times out is a deferral too, but not the "found nothing" this test is about).
    running = await startTestApp({ TWILIO_TIMEOUT_MS: '2000', DISPATCH_LEASE_MS: String(leaseMs) }, { worker: true });
    senderId = (await readyAccount(running)).senderId;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('sends one SMS per recipient: a reconciliation that finds nothing looks again before another attempt', async () => {
    const numbers = Array.from({ length: 20 }, (_, index) => phone(5000 + index));
    const slow = numbers.slice(0, 8);
    // The sandbox holds these sends until the sender has looked for them (the client gives up after 2 s, the
    // reconciliation looks at the lease's end), stores them once that first look answered "nothing", and makes any
    // later look wait until they are stored: the first look finds nothing, the second finds the message.
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // No status callbacks: one would record the send before the reconciliation this test is about.
      body: JSON.stringify({ storeAfterLookup: slow, callbackDelayMs: -1 }),
    });
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((to) => ({ phone: to })),
    );
    await waitForCampaign(running, created.campaignId, 'completed', 60_000);

    const outbound = await running.app.db('sandbox_messages').whereIn('to', numbers).select('to', 'sid');
    expect(outbound.map((row) => row.to).sort()).toEqual([...numbers].sort());
    expect(await messageCounts(running, created.campaignId)).toEqual({ sent: 20 });
    for (const row of outbound.filter((sent) => slow.includes(sent.to))) {
      const tracked = await running.app
        .db('campaign_messages')
        .where({ account_id: 'default', provider_message_id: row.sid })
        .first('message_id');
      const events = await running.app.store.read(`message-${tracked.message_id}`);
      expect(events.map((event) => event.type)).toEqual([
        'MessageQueued',
        'MessageSendStarted',
        'MessageReconcileDeferred',
        'MessageSent',
      ]);
      expect(events[2]!.data).toMatchObject({ code: 'NOT_AT_PROVIDER', attempt: 1 });
      expect(events[3]!.data).toMatchObject({ providerMessageId: row.sid });
    }
  }, 90_000);
});

describe('a provider that cannot be reached', () => {
  let running: TestApp;
  let senderId: string;
  let token: string;
  beforeAll(async () => {
    // Nothing listens on this port: every request is refused before it is written, so nothing can have gone out.
    const closed = await freePort();
    running = await startTestApp(
      {
        TWILIO_SANDBOX_URL: `http://127.0.0.1:${closed}/sandbox/twilio`,
        TWILIO_TIMEOUT_MS: '500',
        DISPATCH_LEASE_MS: '2000',
        DISPATCH_GIVE_UP_MS: '15000',
      },
      { worker: true },
    );
    senderId = (await readyAccount(running)).senderId;
    const client = await createApiClient(
      running.app,
      { accountId: 'default', name: 'reader', scopes: ['campaigns:read'] },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 10_000 });
    const response = await fetch(`${running.baseUrl}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
    });
    token = ((await response.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('retries with backoff, shows the last error while it does, then ends Failed so the campaign completes', async () => {
    const numbers = [phone(6000), phone(6001), phone(6002)];
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((to) => ({ phone: to })),
    );
    const conversations = async () => {
      const response = await fetch(
        `${running.baseUrl}/api/v2/account/default/campaign/${created.campaignId}/conversations`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { conversations: { status: string; errorMessage: string | null }[] })
        .conversations;
    };
    // While it retries: the API's per-recipient status and the campaign page both say why nothing went out.
    const deadline = Date.now() + 30_000;
    let retrying: { status: string; errorMessage: string | null }[] = [];
    while (Date.now() < deadline) {
      retrying = await conversations();
      if (retrying.length === 3 && retrying.every((row) => row.errorMessage?.endsWith('(still trying)'))) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(retrying).toHaveLength(3);
    for (const row of retrying) {
      expect(row.status).toBe('NOT_SENT');
      expect(row.errorMessage).toMatch(/^NETWORK: ECONNREFUSED.*\(still trying\)$/);
    }
    const admin = new WebSession(running.baseUrl);
    await admin.login(TEST_ADMIN.email, TEST_ADMIN.password);
    const page = await admin.get(`/campaigns/${created.campaignId}`);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/ECONNREFUSED/);

    await waitForCampaign(running, created.campaignId, 'completed', 60_000);
    const failed = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default', campaign_id: created.campaignId })
      .select('status', 'error_code', 'error_message', 'attempts');
    expect(failed).toHaveLength(3);
    for (const row of failed) {
      expect(row.status).toBe('failed');
      expect(row.error_code).toBe('NETWORK');
      expect(row.error_message).toMatch(/ECONNREFUSED.*Gave up after \d+ attempts over 15 s\./);
      expect(row.attempts).toBeGreaterThanOrEqual(2);
    }
    const done = await conversations();
    expect(done.every((row) => row.status === 'FAILED' && row.errorMessage?.startsWith('NETWORK: ECONNREFUSED'))).toBe(
      true,
    );
  }, 120_000);
});
