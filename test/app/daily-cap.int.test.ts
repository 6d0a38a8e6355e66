import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAILY_CAP } from '../../src/domain/dispatch.ts';
import { phone, readyAccount, sendCampaign } from '../dispatch/support.ts';
import { committedEvents, startTestApp, type TestApp } from '../support/app.ts';

/** F15: at most 100,000 SMS recipients per day per account, refused up front for the API and the web tool alike. */
let running: TestApp;
let senderId: string;
beforeAll(async () => {
  running = await startTestApp();
  senderId = (await readyAccount(running)).senderId;
});
afterAll(async () => {
  await running?.close();
});

describe('the daily recipient cap', () => {
  it('refuses a campaign that would take the account past it, and writes nothing', async () => {
    const day = new Date().toISOString().slice(0, 10);
    await running.app
      .db('daily_send_counters')
      .insert({ account_id: 'default', channel: 'sms', day, count: DAILY_CAP - 1 });
    const before = await committedEvents(running);
    await expect(sendCampaign(running, senderId, [{ phone: phone(1) }, { phone: phone(2) }])).rejects.toMatchObject({
      code: 'DAILY_LIMIT_EXCEEDED',
      field: 'consumers',
    });
    expect(await committedEvents(running)).toBe(before);
    // One more recipient still fits.
    const created = await sendCampaign(running, senderId, [{ phone: phone(3) }]);
    expect(created.campaignId).toMatch(/^[0-9a-f]{32}$/);
  });
});
