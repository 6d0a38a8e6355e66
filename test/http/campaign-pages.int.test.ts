import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phone, readyAccount, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** The campaigns list and each campaign's page: live progress to 100%, recipients with provider codes, analytics, cancel. */
let running: TestApp;
let admin: WebSession;
let senderId: string;

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

describe('campaign pages', () => {
  it('lists campaigns, follows one to 100%, shows each recipient’s outcome and the funnel', async () => {
    expect((await admin.get('/campaigns')).html).toContain('id="no-campaigns"');
    const numbers = Array.from({ length: 30 }, (_, index) => phone(9500 + index));
    await fetch(`${running.baseUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failNumbers: { [numbers[3]!]: 21211 } }),
    });
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
      'Hello there',
      { name: 'Spring sale' },
    );
    await waitForCampaign(running, created.campaignId);

    const list = await admin.get('/campaigns');
    expect(list.html).toContain(`data-campaign="${created.campaignId}"`);
    expect(list.html).toContain('Spring sale');
    expect(list.html).toMatch(/29 \/ 30/);
    expect((await admin.get('/campaigns?status=cancelled')).html).toContain('No campaign has this status.');

    let progress = await admin.get(`/campaigns/${created.campaignId}/progress`);
    await eventually(async () => {
      progress = await admin.get(`/campaigns/${created.campaignId}/progress`);
      return progress.html.includes('id="percent">100<');
    }, 'the progress reaches 100%');
    expect(progress.html).toContain('id="percent">100<');
    expect(progress.html).toMatch(/<progress id="progress-bar" value="30" max="30">/);
    expect(progress.html).not.toContain('hx-trigger');
    // The poll that sees the end answers 286, which stops htmx polling (CONVENTIONS).
    expect(progress.status).toBe(286);

    const page = await admin.get(`/campaigns/${created.campaignId}`);
    expect(page.html).toContain('Spring sale');
    expect(page.html).not.toContain('id="cancel-campaign"');
    const failed = await admin.get(`/campaigns/${created.campaignId}?recipients=failed`);
    expect(failed.html.match(/<tr data-seq=/g)).toHaveLength(1);
    expect(failed.html).toContain('21211');

    const analytics = await admin.get(`/campaigns/${created.campaignId}/analytics`);
    expect(analytics.html).toMatch(/data-funnel="Recipients">30</);
    expect(analytics.html).toMatch(/data-funnel="Sent">29 \(97%\)</);
    expect(analytics.html).toContain('id="sends"');

    // The account's analytics count the same campaign, live.
    const account = await admin.get('/analytics');
    const total = (metric: string) =>
      Number(
        new RegExp(`data-metric="${metric}"><small>[^<]*</small><strong>([\\d,]+)<`)
          .exec(account.html)?.[1]
          ?.replace(/,/g, ''),
      );
    expect(total('attempted')).toBe(30);
    expect(total('sent')).toBe(29);
    expect(total('failed')).toBe(1);
    expect(account.html).toContain('data-error-code="21211"');
    expect(account.html).toContain('id="per-day"');
    const empty = await admin.get('/analytics?from=2020-01-01&to=2020-01-31');
    expect(empty.html).toContain('id="no-activity"');
  });

  it('cancels a scheduled campaign from its page, after which the cancel control is gone', async () => {
    const created = await sendCampaign(running, senderId, [{ phone: phone(9600) }], 'Later', {
      name: 'Next week',
      sendAt: new Date(Date.now() + 7 * 86_400_000),
    });
    await waitForCampaign(running, created.campaignId, 'scheduled', 10_000);
    const page = await admin.get(`/campaigns/${created.campaignId}`);
    expect(page.html).toContain('id="cancel-campaign"');
    const cancelled = await admin.post(`/campaigns/${created.campaignId}/cancel`, {});
    expect(cancelled.status).toBe(303);
    const after = await admin.get(cancelled.location!);
    expect(after.html).toContain('<strong>cancelled</strong>');
    expect(after.html).not.toContain('id="cancel-campaign"');
    expect((await admin.post(`/campaigns/${created.campaignId}/cancel`, {})).status).toBe(409);
    expect((await admin.get('/campaigns/0123456789abcdef0123456789abcdef')).status).toBe(404);
  });
});
