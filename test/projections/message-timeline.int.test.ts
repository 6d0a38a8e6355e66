import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageTimelineProjection } from '../../projections/message-timeline.ts';
import { createDb, type Db, migrateLatest } from '../../src/infra/db.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { applyOnce, applyTwice, recorded, tableRows } from '../support/projections.ts';

/** LivePerson's transactions report reads when each step happened; the first time a step is reached stays. */
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase('timeline');
  db = createDb(database.url);
  await migrateLatest(db);
});
afterAll(async () => {
  await db?.destroy();
  await database?.drop();
});

const ids = { accountId: 'a1', campaignId: 'c1' };
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 10, minute));
const fixtures = () => [
  recorded('RecipientsAdded', {
    ...ids,
    batch: 0,
    recipients: [
      { seq: 0, consumerRef: 'r0', messageId: 'c1.0', sealed: 's', segments: 3 },
      { seq: 1, consumerRef: 'r1', messageId: 'c1.1', sealed: 's' },
    ],
  }),
  recorded(
    'MessageQueued',
    { ...ids, messageId: 'c1.0', consumerRef: 'r0', channel: 'sms', senderId: 's1', sealed: 's' },
    { createdAt: at(1) },
  ),
  recorded(
    'MessageSendFailed',
    {
      ...ids,
      messageId: 'c1.0',
      attempt: 1,
      retryable: true,
      code: '20429',
      message: 'busy',
      source: 'provider',
      retryAt: at(3).toISOString(),
    },
    { createdAt: at(2) },
  ),
  recorded(
    'MessageSent',
    { ...ids, messageId: 'c1.0', providerMessageId: 'SM1', sentAt: at(3).toISOString() },
    { createdAt: at(3) },
  ),
  recorded(
    'MessageUndelivered',
    { ...ids, messageId: 'c1.0', providerMessageId: 'SM1', at: at(4).toISOString(), code: '30003', message: 'x' },
    { createdAt: at(4) },
  ),
  recorded(
    'MessageQueued',
    { ...ids, messageId: 'c1.1', consumerRef: 'r1', channel: 'sms', senderId: 's1', sealed: 's' },
    { createdAt: at(5) },
  ),
  recorded('MessageSkipped', { ...ids, messageId: 'c1.1', reason: 'opted-out', detail: null }, { createdAt: at(6) }),
];

describe('message-timeline projection', () => {
  it('keeps each step’s first time and the segments; a retryable failure is not an end', async () => {
    await applyOnce(messageTimelineProjection, db, fixtures());
    const once = await tableRows(db, 'message_timeline');
    expect(once).toEqual([
      expect.objectContaining({
        message_id: 'c1.0',
        segments: 3,
        queued_at: at(1),
        sent_at: at(3),
        failed_at: at(4),
        delivered_at: null,
        skipped_at: null,
      }),
      expect.objectContaining({
        message_id: 'c1.1',
        segments: 1,
        queued_at: at(5),
        skipped_at: at(6),
        failed_at: null,
      }),
    ]);
    await db('message_timeline').delete();
    await applyTwice(messageTimelineProjection, db, fixtures());
    expect(await tableRows(db, 'message_timeline')).toEqual(once);
  });
});
