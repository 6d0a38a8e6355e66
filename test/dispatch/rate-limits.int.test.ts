import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACING_MARGIN, SendRateLimiter } from '../../src/dispatch/rate-limits.ts';
import { createDb, type Db, migrateLatest } from '../../src/infra/db.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

describe('send-rate pacing shared by workers', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase('pacing');
    db = createDb(database.url);
    await migrateLatest(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('three limiters (three workers) taking 45 sends at 20/s: never more than 20 in any second', async () => {
    const limiters = [0, 1, 2].map(() => new SendRateLimiter(db));
    const key = { accountId: 'a', channel: 'sms', senderId: 's1', senderRate: 20, channelRate: 0 };
    const granted: number[] = [];
    const started = Date.now();
    await Promise.all(
      limiters.map(async (limiter) => {
        for (let n = 0; n < 15; n++) {
          await limiter.acquire(key);
          granted.push(Date.now());
        }
      }),
    );
    granted.sort((a, b) => a - b);
    expect(granted).toHaveLength(45);
    for (let first = 0; first < granted.length; first++) {
      const inSecond = granted.filter((at) => at >= granted[first]! && at < granted[first]! + 1000).length;
      expect(inSecond).toBeLessThanOrEqual(20);
    }
    // Paced, not refused: 44 periods of 55 ms, give or take the timers.
    expect(Date.now() - started).toBeGreaterThanOrEqual(44 * ((1000 * PACING_MARGIN) / 20) - 50);
  }, 30_000);

  it('a rate of 0 is no limit and asks nothing of the database', async () => {
    const limiter = new SendRateLimiter(db);
    const key = { accountId: 'a', channel: 'sms', senderId: 's2', senderRate: 0, channelRate: 0 };
    const started = Date.now();
    for (let n = 0; n < 100; n++) await limiter.acquire(key);
    expect(Date.now() - started).toBeLessThan(100);
    expect(await db('send_rate_pacing').where('key', 'like', '%s2%')).toEqual([]);
  });
});
