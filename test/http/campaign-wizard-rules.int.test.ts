import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyAccount } from '../dispatch/support.ts';
import { committedEvents, eventually, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/**
 * The wizard and the API create campaigns through one use case (app/campaigns `requestSmsCampaign`): the
 * wizard is held to the API's rules, such as scheduling at most 90 days ahead.
 */
let running: TestApp;
let admin: WebSession;
let senderId: string;

beforeAll(async () => {
  running = await startTestApp();
  senderId = (await readyAccount(running)).senderId;
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  await admin.get('/campaigns/new');
});
afterAll(async () => {
  await running?.close();
});

const localTime = (daysAhead: number) => new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 16);

async function publish(fields: Record<string, string>) {
  const form = { name: 'Rules', senderId, text: 'Hello', numbers: '+14155550901', ...fields };
  const preview = await admin.post('/campaigns/new/preview', form);
  expect(preview.status).toBe(200);
  const uploadId = /name="uploadId" value="([^"]+)"/.exec(preview.html)?.[1];
  expect(uploadId).toBeTruthy();
  return admin.post('/campaigns', { ...form, uploadId: uploadId!, consent: 'on' });
}

describe('the wizard under the API’s rules', () => {
  it('refuses a schedule more than 90 days ahead on its field, writing nothing; 30 days ahead is scheduled', async () => {
    const head = await committedEvents(running);
    const refused = await publish({ when: 'later', sendAt: localTime(100) });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('Choose a time in the future, at most 90 days ahead, to schedule the campaign.');
    expect(refused.html).toMatch(/name="sendAt" value="[^"]+"[^>]*aria-invalid=true/);
    expect(await committedEvents(running)).toBe(head);

    const scheduled = await publish({ when: 'later', sendAt: localTime(30) });
    expect(scheduled.status).toBe(303);
    const campaignId = scheduled.location!.split('/')[2]!.split('?')[0]!;
    const status = async () =>
      (await running.app.db('campaigns').where({ campaign_id: campaignId }).first('status'))?.status;
    await eventually(async () => (await status()) !== undefined && (await status()) !== 'draft', 'the campaign');
    expect(await status()).toBe('scheduled');
  });
});
