import { expect } from 'vitest';
import { addSender, setReceivingWindow, setSendRate } from '../../src/app/account-settings.ts';
import { activateProactive } from '../../src/app/accounts.ts';
import { createSmsCampaign, type RecipientInput } from '../../src/app/campaigns.ts';
import { WEEKDAYS, type WeeklyWindow } from '../../src/domain/account-settings.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { committedHead, type TestApp } from '../support/app.ts';

export const SYSTEM = { actor: 'test' };
export const ALWAYS_OPEN = Object.fromEntries(
  WEEKDAYS.map((day) => [day, { start: '00:00', end: '24:00' }]),
) as WeeklyWindow;

/** A valid, distinct US mobile-format number per index. */
export const phone = (index: number) => `+1415${String(2010000 + index).padStart(7, '0')}`;

/** Proactive on, one SMS sender without a rate limit, the window always open (unless told otherwise). */
export async function readyAccount(
  running: TestApp,
  options: { window?: WeeklyWindow | null; senderRate?: number } = {},
) {
  await activateProactive(running.app, 'default', SYSTEM);
  const sender = await addSender(
    running.app,
    { accountId: 'default', channel: 'sms', address: '+14155550100', rate: options.senderRate ?? 0 },
    SYSTEM,
  );
  await setSendRate(running.app, { accountId: 'default', channel: 'sms', rate: 0 }, SYSTEM);
  if (options.window !== null) {
    await setReceivingWindow(
      running.app,
      { accountId: 'default', channel: 'sms', window: options.window ?? ALWAYS_OPEN },
      SYSTEM,
    );
  }
  return sender;
}

export async function sendCampaign(
  running: TestApp,
  senderId: string,
  recipients: RecipientInput[],
  text = 'Hello from Outbound',
  extra: { sendAt?: Date; name?: string } = {},
) {
  const created = await createSmsCampaign(
    { ...running.app, personalData: running.app.channels.personalData },
    {
      accountId: 'default',
      name: extra.name ?? 'Test campaign',
      senderId,
      text,
      source: 'api',
      consent: true,
      recipients,
      publish: true,
      sendAt: extra.sendAt,
    },
    SYSTEM,
  );
  // As the API answers: once the campaign's read models have it, so that what a test reads next can find it.
  if (created.position) {
    const caughtUp = await waitForProjection(running.app.db, ['campaigns', 'campaign-messages'], created.position, {
      timeoutMs: 20_000,
    });
    expect(caughtUp, 'the campaign read models reach the new campaign').toBe(true);
  }
  return created;
}

/** Waits until the campaign's read model says it finished, within `timeoutMs`. */
export async function waitForCampaign(running: TestApp, campaignId: string, status = 'completed', timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await running.app
      .db('campaigns')
      .where({ account_id: 'default', campaign_id: campaignId })
      .first('status');
    if (row?.status === status) return;
    if (Date.now() > deadline) {
      const counts = await messageCounts(running, campaignId);
      expect.fail(
        `campaign ${campaignId} is ${row?.status} after ${timeoutMs} ms, messages: ${JSON.stringify(counts)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function messageCounts(running: TestApp, campaignId: string): Promise<Record<string, number>> {
  const head = await committedHead(running.app.db);
  if (head) await waitForProjection(running.app.db, 'campaign-messages', head, { timeoutMs: 10_000 });
  const rows = await running.app
    .db('campaign_messages')
    .where({ account_id: 'default', campaign_id: campaignId })
    .groupBy('status')
    .select('status')
    .count('* as count');
  return Object.fromEntries(rows.map((row) => [row.status as string, Number(row.count)]));
}
