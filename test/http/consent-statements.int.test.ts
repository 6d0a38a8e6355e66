import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill } from '../../src/app/account-settings.ts';
import { createApiClient } from '../../src/app/api-clients.ts';
import { DEFAULT_CONSENT_STATEMENT } from '../../src/app/campaigns.ts';
import { API_SCOPES } from '../../src/domain/account-settings.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { phone, readyAccount, SYSTEM } from '../dispatch/support.ts';
import { committedEvents, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/**
 * F14 consent: each campaign records its consent statement with who recorded it and when, through the API (a
 * LivePerson body with only `consent: true` gets the API's default statement) and the web wizard; the campaign
 * page shows it and the consumer's export holds it.
 */
// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let accessToken: string;
let clientId: string;
let templateId: string;
let admin: WebSession;
const STATEMENT = 'Opted in at checkout on shop.example, 2026-11-02, form v3.';

function api(path: string, init: RequestInit = {}) {
  return fetch(`${running.baseUrl}/api/v2/account/default${path}`, {
    ...init,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
  });
}

const createCampaign = (consumer: number, extra: Record<string, unknown> = {}) =>
  api('/campaign', {
    method: 'POST',
    body: JSON.stringify({
      campaignName: `Consent ${consumer}`,
      skill: 'Sales',
      templateId,
      outboundNumber: '14155550100',
      consent: true,
      consumers: [{ consumerContent: { sms: phone(consumer).slice(1) }, variables: { 1: 'x' } }],
      ...extra,
    }),
  });

async function exportOf(consumer: number) {
  const response = await api(`/gdpr/export?phone=${encodeURIComponent(phone(consumer))}`);
  expect(response.status).toBe(200);
  return json(response);
}

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '1000' });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  const client = await createApiClient(
    running.app,
    { accountId: 'default', name: 'consent', scopes: [...API_SCOPES] },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  clientId = client.clientId;
  const token = await fetch(`${running.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  });
  accessToken = (await json(token)).access_token;
  const handoff = await api('/handoffs', {
    method: 'POST',
    body: JSON.stringify({
      name: 'Consent handoff',
      skill: 'Sales',
      lookbackPeriodDay: 7,
      channels: [
        {
          type: 'sms-twilio',
          outboundnumber: '+14155550100',
          messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'] }],
        },
      ],
    }),
  });
  expect(handoff.status).toBe(201);
  templateId = (await json(handoff)).id;
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

describe('consent statements', () => {
  it('records the API’s statement with the client and the time, and the export holds it', async () => {
    const before = Date.now();
    const created = await createCampaign(9400, { consentStatement: `  ${STATEMENT}  ` });
    expect(created.status).toBe(201);
    const { proactiveCampaignId } = await json(created);
    const row = await running.app.db('campaigns').where({ campaign_id: proactiveCampaignId }).first();
    expect(row).toMatchObject({ consent_statement: STATEMENT, created_by: clientId });
    const document = await exportOf(9400);
    expect(document.consent.campaigns).toEqual([
      expect.objectContaining({
        campaignId: proactiveCampaignId,
        consent: true,
        statement: STATEMENT,
        source: 'api',
        recordedBy: clientId,
      }),
    ]);
    expect(new Date(document.consent.campaigns[0].recordedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('gives a LivePerson body with only consent: true the API’s default statement', async () => {
    const created = await createCampaign(9401);
    expect(created.status).toBe(201);
    const document = await exportOf(9401);
    expect(document.consent.campaigns).toEqual([
      expect.objectContaining({ statement: DEFAULT_CONSENT_STATEMENT.api, recordedBy: clientId }),
    ]);
  });

  it('refuses a blank or overlong statement naming the field, and writes nothing', async () => {
    const head = await committedEvents(running);
    for (const consentStatement of ['   ', 'x'.repeat(1001), 42]) {
      const refused = await createCampaign(9402, { consentStatement });
      expect(refused.status).toBe(400);
      expect(await json(refused)).toMatchObject({ field: 'consentStatement' });
    }
    expect(await committedEvents(running)).toBe(head);
  });

  it('records the wizard’s statement; the campaign page shows it with who recorded it', async () => {
    const form = await admin.get('/campaigns/new');
    expect(form.html).toContain(`>${DEFAULT_CONSENT_STATEMENT.web}</textarea>`);
    const senderId = /name="senderId"[\s\S]*?<option value="([^"]+)"/.exec(form.html)?.[1];
    expect(senderId).toBeTruthy();
    const fields = { name: 'Wizard consent', senderId: senderId!, text: 'Hello', numbers: phone(9403) };
    const preview = await admin.post('/campaigns/new/preview', fields);
    expect(preview.status).toBe(200);
    const uploadId = /name="uploadId" value="([^"]+)"/.exec(preview.html)?.[1];
    expect(uploadId).toBeTruthy();
    const published = await admin.post('/campaigns', {
      ...fields,
      uploadId: uploadId!,
      when: 'now',
      consent: 'on',
      consentStatement: STATEMENT,
    });
    expect(published.status).toBe(303);
    const page = await admin.get(published.location!);
    expect(page.status).toBe(200);
    const consent = /<p id="consent">[\s\S]*?<\/p>/.exec(page.html)?.[0] ?? '';
    expect(consent).toContain(STATEMENT);
    const user = await running.app.db('users').where({ email: TEST_ADMIN.email }).first('user_id', 'name');
    expect(consent).toContain(`recorded by ${user.name}`);
    const document = await exportOf(9403);
    expect(document.consent.campaigns).toEqual([
      expect.objectContaining({ statement: STATEMENT, source: 'web', recordedBy: user.user_id }),
    ]);
  });
});
