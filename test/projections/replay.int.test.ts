import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions, type EventStore, type GlobalPosition, type NewEvent } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres.ts';
import { createDb, type Db, migrateLatest } from '../../src/infra/db.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { replayProjection } from '../../src/projections/replay.ts';
import { ProjectionRunner } from '../../src/projections/runner.ts';
import type { Projection } from '../../src/projections/types.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { tableRows } from '../support/projections.ts';

/** Accounts and their activation, upserted by entity id: applying an event twice leaves the same row. */
const accounts: Projection = {
  name: 'test-accounts',
  tables: ['test_accounts', 'test_account_events'],
  handles: ['AccountCreated', 'ProactiveActivated'],
  async project(events, { trx, table }) {
    for (const event of events) {
      const accountId = String(event.data.accountId);
      if (event.type === 'AccountCreated') {
        await trx(table('test_accounts'))
          .insert({ account_id: accountId, name: event.data.name, active: false })
          .onConflict('account_id')
          .ignore();
      } else {
        await trx(table('test_accounts')).where({ account_id: accountId }).update({ active: true });
      }
    }
    // A serial key and a foreign key: the swap must keep both working.
    await trx(table('test_account_events'))
      .insert(events.map((event) => ({ event_id: event.id, account_id: String(event.data.accountId) })))
      .onConflict('event_id')
      .ignore();
  },
};

/** Not idempotent on purpose: one row per application, so an event applied twice across the swap shows up. */
const witness: Projection = {
  name: 'test-replay-witness',
  tables: ['test_replay_applications'],
  handles: ['AccountCreated', 'ProactiveActivated'],
  async project(events, { trx, table }) {
    await trx(table('test_replay_applications')).insert(events.map((event) => ({ event_id: event.id })));
  },
};

const metadata = { correlationId: 'c', causationId: null, actor: 'system:test' };
const accountEvents = (accountId: string): NewEvent[] => [
  { type: 'AccountCreated', data: { accountId, name: `Account ${accountId}`, defaultTimeZone: 'UTC' }, metadata },
  { type: 'ProactiveActivated', data: { accountId }, metadata },
  // Not handled by either projection: replay reads past it all the same.
  { type: 'UserRemoved', data: { accountId, userId: 'nobody' }, metadata },
];

async function appendAccounts(store: EventStore, prefix: string, count: number): Promise<GlobalPosition> {
  let last: GlobalPosition | null = null;
  for (let i = 0; i < count; i += 1) {
    last = (await store.append(`account-${prefix}-${i}`, accountEvents(`${prefix}-${i}`), 'no_stream')).position;
  }
  return last!;
}

let database: TestDatabase;
let db: Db;
let store: EventStore;

beforeAll(async () => {
  database = await createTestDatabase('replay');
  // Two replays (each holding its guard and a batch or swap transaction), a live runner of two projections (a
  // transaction each, waiting on the swap's lock) and the test's own reads share this pool: with the default 10
  // they queue for connections, and on a busy machine a wait can outlast knex's acquire timeout, which says
  // nothing about replays. Room for all of them.
  db = createDb(database.url, { poolMax: 20 });
  await migrateLatest(db);
  await db.schema.createTable('test_accounts', (t) => {
    t.text('account_id').primary();
    t.text('name').notNullable();
    t.boolean('active').notNullable();
    t.index(['name']);
  });
  await db.schema.createTable('test_account_events', (t) => {
    t.increments('seq');
    t.uuid('event_id').notNullable().unique();
    t.text('account_id').notNullable().references('account_id').inTable('test_accounts');
  });
  await db.schema.createTable('test_replay_applications', (t) => {
    t.uuid('event_id').notNullable();
  });
  store = new PostgresEventStore({ connectionString: database.url, log: silentLogger });
  await store.init();
});

afterAll(async () => {
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

/** Index and constraint names of a table, which a later migration may refer to. */
async function schemaOf(table: string): Promise<string[]> {
  const { rows } = await db.raw(
    `select 'index ' || indexname || ': ' || regexp_replace(indexdef, '^.* USING ', '') as item
       from pg_indexes where tablename = ?
     union all
     select 'constraint ' || conname || ': ' || pg_get_constraintdef(oid) from pg_constraint where conrelid = ?::regclass
     order by 1`,
    [table, table],
  );
  return rows.map((row: { item: string }) => row.item);
}

describe('replayProjection', () => {
  it('rebuilds rows identical to the live run and keeps the schema as migrated', async () => {
    const head = await appendAccounts(store, 'same', 40);
    const runner = new ProjectionRunner({ store, db, projections: [accounts], log: silentLogger });
    await runner.start();
    expect(await waitForProjection(db, accounts.name, head, { timeoutMs: 20_000 })).toBe(true);
    await runner.stop();
    const live = [
      await tableRows(db, 'test_accounts'),
      await db('test_account_events').orderBy('seq').select('event_id'),
    ];
    const schema = [await schemaOf('test_accounts'), await schemaOf('test_account_events')];
    expect(live[0]).toHaveLength(40);

    // Stale garbage in the live tables is gone after a rebuild: the replay really starts from nothing.
    await db('test_accounts').where({ account_id: 'same-0' }).update({ name: 'tampered' });
    const progress: number[] = [];
    const result = await replayProjection(db, store, accounts, {
      log: silentLogger,
      batchSize: 17,
      onProgress: (processed) => progress.push(processed),
    });
    expect(result.events).toBe(120);
    expect(result.applied).toBe(80);
    expect(result.position).toEqual(head);
    expect(progress.at(-1)).toBe(120);
    expect([
      await tableRows(db, 'test_accounts'),
      await db('test_account_events').orderBy('seq').select('event_id'),
    ]).toEqual(live);
    expect([await schemaOf('test_accounts'), await schemaOf('test_account_events')]).toEqual(schema);
    const { rows: leftovers } = await db.raw(`select tablename from pg_tables where tablename like 'test_%\\_\\_%'`);
    expect(leftovers).toEqual([]);
    const { rows: owned } = await db.raw(`select pg_get_serial_sequence('test_account_events', 'seq') as sequence`);
    expect(owned[0].sequence).toBe('public.test_account_events_seq_seq');

    // A second replay works on the swapped-in tables just the same, and the foreign key is enforced.
    await replayProjection(db, store, accounts, { log: silentLogger });
    expect([await schemaOf('test_accounts'), await schemaOf('test_account_events')]).toEqual(schema);
    await expect(
      db('test_account_events').insert({ event_id: '00000000-0000-4000-8000-000000000000', account_id: 'nope' }),
    ).rejects.toThrow(/foreign key/);
  });

  it('swaps in while writers append and the live runner runs, with no event lost or doubled', async () => {
    const before = await appendAccounts(store, 'busy-before', 150);
    const runner = new ProjectionRunner({
      store,
      db,
      projections: [witness, accounts],
      log: silentLogger,
      batchSize: 5,
    });
    await runner.start();
    expect(await waitForProjection(db, witness.name, before, { timeoutMs: 20_000 })).toBe(true);

    let writing = true;
    let written = 0;
    let lastAppended: GlobalPosition = before;
    const writers = [1, 2, 3].map(async (w) => {
      for (let i = 0; writing; i += 1) {
        const { position } = await store.append(`account-busy-${w}-${i}`, accountEvents(`busy-${w}-${i}`), 'no_stream');
        if (comparePositions(position, lastAppended) > 0) lastAppended = position;
        written += 1;
        // Paced like a busy app rather than a load test, so that the replay can overtake the writers.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    const settle = async (accounts: number) => {
      for (let target = written + accounts; written < target; ) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    // The head can lag the last append while any transaction on the server is open (the store's visibility
    // rule, cluster-wide), so wait until what was appended is readable before relying on it.
    const visible = async (position: GlobalPosition) => {
      let head = (await store.headPosition())!;
      for (let tries = 0; comparePositions(head, position) < 0 && tries < 1000; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        head = (await store.headPosition())!;
      }
      return head;
    };
    let writtenBeforeReplay = 0;
    let replays: Awaited<ReturnType<typeof replayProjection>>[] = [];
    try {
      await settle(20);
      writtenBeforeReplay = written;
      await visible(lastAppended);
      replays = await Promise.all([
        replayProjection(db, store, witness, { log: silentLogger, batchSize: 50 }),
        settle(10).then(() => replayProjection(db, store, accounts, { log: silentLogger, batchSize: 50 })),
      ]);
      await settle(20);
    } finally {
      // Stopped whatever happens, so that a failure here cannot leak writers into the next tests.
      writing = false;
      await Promise.all(writers);
    }
    let head: GlobalPosition;
    let caughtUp: boolean;
    try {
      head = await visible(lastAppended);
      caughtUp = await waitForProjection(db, [witness.name, accounts.name], head, { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    expect(head).toEqual(lastAppended);
    expect(caughtUp).toBe(true);

    // Writers ran before, during and after the replays: the rebuilt tables took in some of their events, the
    // live runner applied the rest on top of the swapped-in tables.
    expect(writtenBeforeReplay).toBeGreaterThan(0);
    for (const replay of replays) {
      expect(comparePositions(replay.position, before)).toBeGreaterThan(0);
      expect(comparePositions(head, replay.position)).toBeGreaterThan(0);
    }
    const handled = 2 * (await db.raw(`select count(*)::int as n from test_accounts`)).rows[0].n;
    const { rows } = await db.raw(
      'select count(*)::int as total, count(distinct event_id)::int as distinct from test_replay_applications',
    );
    expect(rows[0]).toEqual({ total: handled, distinct: handled });
    // Every account the store knows of, each activated, each with its two events: nothing lost.
    // Counted in the store rather than summed from this file's appends, so that the test holds when run alone.
    const accountsInStore = (await store.readAll(null, 1_000_000)).filter((e) => e.type === 'AccountCreated').length;
    expect(accountsInStore).toBeGreaterThanOrEqual(150 + written);
    expect(handled).toBe(2 * accountsInStore);
    expect(await db('test_accounts').where({ active: false }).count({ n: '*' }).first()).toEqual({ n: '0' });
    expect(await db('test_account_events').count({ n: '*' }).first()).toEqual({ n: String(2 * accountsInStore) });
  }, 180_000);

  it('catches up inside the swap lock when the live runner is ahead of the shadow', async () => {
    const runner = new ProjectionRunner({ store, db, projections: [witness], log: silentLogger });
    await runner.start();
    const head = (await store.headPosition())!;
    expect(await waitForProjection(db, witness.name, head, { timeoutMs: 20_000 })).toBe(true);
    // When the replay reaches the head, an event is appended and applied live before the replay goes on to
    // swap: the shadow is then behind the live checkpoint, and only catching up inside the lock saves that event.
    let overtaken: GlobalPosition | null = null;
    const overtakingStore: EventStore = Object.assign(Object.create(store) as EventStore, {
      readAll: async (from: GlobalPosition | null, batchSize: number) => {
        const events = await store.readAll(from, batchSize);
        if (!overtaken && events.length < batchSize) {
          overtaken = (await store.append('account-overtaker', accountEvents('overtaker'), 'no_stream')).position;
          expect(await waitForProjection(db, witness.name, overtaken, { timeoutMs: 20_000 })).toBe(true);
        }
        return events;
      },
    });
    const result = await replayProjection(db, overtakingStore, witness, { log: silentLogger, batchSize: 100 });
    await runner.stop();
    expect(comparePositions(result.position, overtaken)).toBe(0);
    const { rows } = await db.raw(
      'select count(*)::int as total, count(distinct event_id)::int as distinct from test_replay_applications',
    );
    const handled = 2 * Number((await db('test_accounts').count({ n: '*' }).first())?.n) + 2;
    expect(rows[0]).toEqual({ total: handled, distinct: handled });
  });

  it('ends against writers faster than itself: it reads to the head it began at, and the swap catches up the rest', async () => {
    // Every read of the store during the replay appends more than a batch, so the head is never reached: a replay
    // that read until a short batch would chase for ever (here: until the guard below stops it).
    await appendAccounts(store, 'racer-start', 20);
    // Each read adds 12 events for the 10 it takes, so every pass is longer than the last: the replay goes to the
    // swap after its second pass, and the swap reads what came during both. About 4 reads per 10 events there at
    // the start; far more means it did not stop.
    const limit = 10 * Math.ceil((await store.readAll(null, 1_000_000)).length / 10) + 100;
    let reads = 0;
    const racingStore: EventStore = Object.assign(Object.create(store) as EventStore, {
      readAll: async (from: GlobalPosition | null, batchSize: number) => {
        reads += 1;
        if (reads > limit) throw new Error(`the replay is still chasing the writers after ${limit} reads`);
        const events = await store.readAll(from, batchSize);
        await store.appendMany(
          [0, 1, 2, 3].map((i) => ({
            streamId: `account-racer-${reads}-${i}`,
            events: accountEvents(`racer-${reads}-${i}`),
            expectedVersion: 'no_stream' as const,
          })),
        );
        return events;
      },
    });
    const result = await replayProjection(db, racingStore, witness, { log: silentLogger, batchSize: 10 });
    // The swap caught up inside its lock to the head it saw there: everything up to its checkpoint applied once.
    const upTo = await store.readAll(null, 1_000_000);
    const handled = upTo.filter(
      (event) => witness.handles.includes(event.type) && comparePositions(event.position, result.position) <= 0,
    ).length;
    const { rows } = await db.raw(
      'select count(*)::int as total, count(distinct event_id)::int as distinct from test_replay_applications',
    );
    expect(rows[0]).toEqual({ total: handled, distinct: handled });
    // And the store went on growing past it all the while.
    expect(comparePositions(upTo[upTo.length - 1]!.position, result.position)).toBeGreaterThan(0);
  });

  it('leaves the live tables as they were when a replay fails', async () => {
    const live = await tableRows(db, 'test_accounts');
    const broken: Projection = {
      ...accounts,
      async project(events, ctx) {
        await accounts.project(events, ctx);
        throw new Error('projection bug');
      },
    };
    await expect(replayProjection(db, store, broken, { log: silentLogger })).rejects.toThrow('projection bug');
    expect(await tableRows(db, 'test_accounts')).toEqual(live);
    const { rows: leftovers } = await db.raw(`select tablename from pg_tables where tablename like 'test_%\\_\\_%'`);
    expect(leftovers).toEqual([]);
  });

  it('refuses a second replay of the same projection while one runs', async () => {
    // The first replay is held inside its first batch (so it holds its lock) until the second has been refused.
    let entered: () => void = () => {};
    const running = new Promise<void>((resolve) => (entered = resolve));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: Projection = {
      ...witness,
      async project(events, ctx) {
        entered();
        await released;
        await witness.project(events, ctx);
      },
    };
    const first = replayProjection(db, store, held, { log: silentLogger, batchSize: 100 });
    try {
      await running;
      await expect(replayProjection(db, store, held, { log: silentLogger })).rejects.toThrow(/already running/);
    } finally {
      release();
    }
    await first;
    // Once the first is done, the lock is free again.
    await expect(replayProjection(db, store, witness, { log: silentLogger })).resolves.toMatchObject({
      events: expect.any(Number),
    });
  });
});
