import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions, type RecordedEvent } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { describeEventStoreContract } from './contract.ts';

describeEventStoreContract('postgres', async () => {
  const database = await createTestDatabase('es');
  const store = new PostgresEventStore({ connectionString: database.url, poolMax: 24 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await database.drop();
    },
  };
});

describe('postgres adapter: what a subscriber sees', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await createTestDatabase('es_tx');
    store = new PostgresEventStore({ connectionString: database.url });
    await store.init();
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('two stores initialising the schema at once both succeed', async () => {
    const others = [0, 1, 2].map(() => new PostgresEventStore({ connectionString: database.url, poolMax: 2 }));
    await Promise.all(others.map((other) => other.init()));
    await Promise.all(others.map((other) => other.close()));
  });

  /** A connection of its own, to hold a transaction open while others commit. */
  async function connection(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return client;
  }
  const appendIn = (client: pg.Client, streamId: string, id: string, type: string) =>
    client.query('select es_append($1, -2, $2::jsonb)', [
      streamId,
      JSON.stringify([{ id, type, data: {}, metadata: { correlationId: 'c', causationId: null, actor: 'test' } }]),
    ]);

  /** Subscribes from the head; `until(id)` resolves once that event was delivered. */
  async function watch() {
    const seen: RecordedEvent[] = [];
    const waiters = new Map<string, () => void>();
    const subscription = store.subscribe({
      from: await store.headPosition(),
      onEvents: async (events) => {
        seen.push(...events);
        for (const event of events) waiters.get(event.id)?.();
      },
    });
    const until = (id: string, timeoutMs = 60_000) =>
      seen.some((event) => event.id === id)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`event ${id} not delivered; saw ${seen.length}`)),
              timeoutMs,
            );
            waiters.set(id, () => {
              clearTimeout(timer);
              resolve();
            });
          });
    return { seen, subscription, until };
  }

  /**
   * Everything committed so far has been delivered once a marker appended now is: the marker's transaction id is
   * above those of every transaction that ended before it began.
   */
  async function drain(watcher: Awaited<ReturnType<typeof watch>>): Promise<void> {
    const marker = randomUUID();
    await store.append(
      'marker',
      [{ id: marker, type: 'Marker', data: {}, metadata: { correlationId: 'c', causationId: null, actor: 't' } }],
      'any',
    );
    await watcher.until(marker);
  }

  it('a subscriber never skips an event whose transaction started earlier but committed later', async () => {
    const watcher = await watch();
    const early = await connection();
    const late = await connection();
    try {
      // The early transaction appends first (the lower sequence number), then stays open.
      const earlyId = randomUUID();
      await early.query('begin');
      await appendIn(early, 'early', earlyId, 'Early');
      // A later transaction appends after it and commits while the early one is still open.
      const lateId = randomUUID();
      await late.query('begin');
      await appendIn(late, 'late', lateId, 'Late');
      await late.query('commit');
      // A reader that moved past the late event now would skip the early one when it commits: none may see it yet.
      expect((await store.readAll(null, 100_000)).some((event) => event.id === lateId)).toBe(false);
      expect(watcher.seen.some((event) => event.id === lateId)).toBe(false);
      await early.query('commit');
      await watcher.until(lateId);
      await drain(watcher);
      await watcher.subscription.stop();
      const mine = watcher.seen.filter((event) => event.id === earlyId || event.id === lateId);
      expect(mine.map((event) => event.type)).toEqual(['Early', 'Late']);
    } finally {
      await early.end();
      await late.end();
    }
  });

  it('delivers in transaction order even where that is not sequence order', async () => {
    const watcher = await watch();
    const first = await connection();
    const second = await connection();
    try {
      // The first transaction takes its id, then waits; the second appends (the lower sequence number) and commits.
      await first.query('begin');
      await first.query('select pg_current_xact_id()');
      const secondId = randomUUID();
      await second.query('begin');
      await appendIn(second, 'second', secondId, 'Second');
      await second.query('commit');
      const firstId = randomUUID();
      await appendIn(first, 'first', firstId, 'First');
      await first.query('commit');
      await watcher.until(secondId);
      await drain(watcher);
      await watcher.subscription.stop();
      const mine = watcher.seen.filter((event) => event.id === firstId || event.id === secondId);
      // Ordered by transaction: the first transaction's event comes first though its sequence number is higher.
      expect(mine.map((event) => event.type)).toEqual(['First', 'Second']);
      expect(mine[0]!.position.prepare > mine[1]!.position.prepare).toBe(true);
      expect(comparePositions(mine[0]!.position, mine[1]!.position)).toBe(-1);
    } finally {
      await first.end();
      await second.end();
    }
  });

  it('8 writers holding transactions open at random: every committed event once, in order, no rolled-back one', async () => {
    const watcher = await watch();
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    const writer = async (w: number) => {
      const client = await connection();
      try {
        for (let round = 0; round < 15; round++) {
          const ids = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => randomUUID());
          const rollback = Math.random() < 0.2;
          await client.query('begin');
          await client.query('select es_append($1, -2, $2::jsonb)', [
            `tx-${w}`,
            JSON.stringify(
              ids.map((id) => ({
                id,
                type: 'Written',
                data: { w, round },
                metadata: { correlationId: 'c', causationId: null, actor: 'test' },
              })),
            ),
          ]);
          // Held open for a random while: other writers commit meanwhile (the forced cases are the tests above).
          await client.query('select pg_sleep($1)', [Math.random() * 0.05]);
          await client.query(rollback ? 'rollback' : 'commit');
          for (const id of ids) (rollback ? rolledBack : committed).add(id);
        }
      } finally {
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    await drain(watcher);
    await watcher.subscription.stop();

    const seen = watcher.seen.filter((event) => event.type !== 'Marker');
    expect(seen.filter((e) => rolledBack.has(e.id))).toEqual([]);
    expect(seen.map((e) => e.id).sort()).toEqual([...committed].sort());
    for (let i = 1; i < watcher.seen.length; i++) {
      expect(comparePositions(watcher.seen[i - 1]!.position, watcher.seen[i]!.position)).toBe(-1);
    }
  });

  it('a reader does not see an open transaction, and sees it once committed, behind its checkpoint', async () => {
    const before = await store.headPosition();
    const slow = new pg.Client({ connectionString: database.url });
    await slow.connect();
    await slow.query('begin');
    const id = randomUUID();
    await slow.query('select es_append($1, -2, $2::jsonb)', [
      'open-tx',
      JSON.stringify([
        { id, type: 'Slow', data: {}, metadata: { correlationId: 'c', causationId: null, actor: 'test' } },
      ]),
    ]);
    const fast = await store.append(
      'fast-tx',
      [{ type: 'Fast', data: {}, metadata: { correlationId: 'c', causationId: null, actor: 't' } }],
      'any',
    );
    // The fast event committed, but it sits behind the open transaction, so it is not visible yet either.
    expect((await store.readAll(before, 100)).map((e) => e.type)).toEqual([]);
    await slow.query('commit');
    await slow.end();
    // Visible once no older transaction is open anywhere on the server (other test files share it).
    let after = await store.readAll(before, 100);
    for (const deadline = Date.now() + 60_000; after.length < 2 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await store.readAll(before, 100);
    }
    expect(after.map((e) => e.type)).toEqual(['Slow', 'Fast']);
    expect(comparePositions(after[1]!.position, fast.position)).toBe(0);
  });

  const event = (n: number) => ({
    type: 'Paced',
    data: { n },
    metadata: { correlationId: 'c', causationId: null, actor: 'test' },
  });

  it('reads at most once per minIntervalMs while it finds less than a full batch, not once per append', async () => {
    // When each read of the store starts: the subscription calls the store's own readAll.
    const reads: number[] = [];
    const readAll = store.readAll.bind(store);
    store.readAll = (from, batchSize) => {
      reads.push(performance.now());
      return readAll(from, batchSize);
    };
    let delivered = 0;
    let allDelivered: () => void = () => {};
    const done = new Promise<void>((resolve) => (allDelivered = resolve));
    const subscription = store.subscribe({
      from: await store.headPosition(),
      minIntervalMs: 300,
      batchSize: 1000,
      onEvents: async (events) => {
        delivered += events.length;
        if (delivered === 20) allDelivered();
      },
    });
    try {
      for (let n = 0; n < 20; n++) await store.append(`paced-${n}`, [event(n)], 'any');
      await done;
    } finally {
      await subscription.stop();
      store.readAll = readAll;
    }
    expect(reads.length).toBeGreaterThan(1);
    for (let i = 1; i < reads.length; i++) {
      // The clock the subscription paces by counts whole milliseconds.
      expect(reads[i]! - reads[i - 1]!).toBeGreaterThanOrEqual(298);
    }
  });

  it('reads on at once while it is a full batch behind', async () => {
    const position = await store.headPosition();
    await store.append(
      'backlog',
      Array.from({ length: 30 }, (_, n) => event(n)),
      'any',
    );
    const batches: number[] = [];
    const started = performance.now();
    let finished = 0;
    await new Promise<void>((resolve) => {
      const subscription = store.subscribe({
        from: position,
        minIntervalMs: 60_000,
        batchSize: 10,
        onEvents: async (events) => {
          batches.push(events.length);
          if (batches.reduce((sum, count) => sum + count, 0) === 30) {
            finished = performance.now();
            void subscription.stop().then(resolve);
          }
        },
      });
    });
    expect(batches).toEqual([10, 10, 10]);
    // Three reads, none of them waiting out the minute.
    expect(finished - started).toBeLessThan(60_000);
  });
});
