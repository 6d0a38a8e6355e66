import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventSchemas } from '../../src/domain/events.ts';
import { comparePositions, type EventStore, type GlobalPosition, type NewEvent } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres.ts';
import { createDb, type Db, migrateLatest } from '../../src/infra/db.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { ProjectionRunner } from '../../src/projections/runner.ts';
import type { Projection } from '../../src/projections/types.ts';
import { readCheckpoints, waitForProjection } from '../../src/projections/wait.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { applyOnce, applyTwice, recorded, tableRows } from '../support/projections.ts';

/**
 * The idempotent pattern every projection follows: one multi-row statement per batch, keyed on the event id
 * with `on conflict do nothing`, and a per-type count that only counts rows the insert actually added.
 */
const eventLog: Projection = {
  name: 'test-event-log',
  tables: ['test_events', 'test_type_counts'],
  handles: ['AccountCreated', 'ProactiveActivated'],
  async project(events, { trx, table }) {
    const rows = events.map((event) => ({
      event_id: event.id,
      type: event.type,
      stream_id: event.streamId,
      account_id: String(event.data.accountId),
      commit_position: event.position.commit.toString(),
      prepare_position: event.position.prepare.toString(),
    }));
    await trx.raw(
      `with inserted as (
         insert into ?? (event_id, type, stream_id, account_id, commit_position, prepare_position)
         select event_id, type, stream_id, account_id, commit_position, prepare_position
           from json_to_recordset(?::json) as r(event_id uuid, type text, stream_id text, account_id text,
                                                  commit_position numeric, prepare_position numeric)
         on conflict (event_id) do nothing
         returning type)
       insert into ?? as c (type, count) select type, count(*) from inserted group by type
       on conflict (type) do update set count = c.count + excluded.count`,
      [table('test_events'), JSON.stringify(rows), table('test_type_counts')],
    );
  },
};

/** Deliberately not idempotent: one row per application, so a doubled event shows up as a duplicate. */
const witness: Projection = {
  name: 'test-witness',
  tables: ['test_applications'],
  handles: ['AccountCreated', 'ProactiveActivated'],
  async project(events, { trx, table }) {
    await trx(table('test_applications')).insert(events.map((event) => ({ event_id: event.id })));
  },
};

async function createTestTables(db: Db): Promise<void> {
  await db.schema.createTable('test_events', (t) => {
    t.uuid('event_id').primary();
    t.text('type').notNullable();
    t.text('stream_id').notNullable();
    t.text('account_id').notNullable();
    t.decimal('commit_position', 20, 0).notNullable();
    t.decimal('prepare_position', 20, 0).notNullable();
    t.index(['account_id']);
  });
  await db.schema.createTable('test_type_counts', (t) => {
    t.text('type').primary();
    t.integer('count').notNullable();
  });
  await db.schema.createTable('test_applications', (t) => {
    t.uuid('event_id').notNullable();
  });
}

const metadata = { correlationId: 'c', causationId: null, actor: 'system:test' };
const created = (accountId: string): NewEvent => ({
  type: 'AccountCreated',
  data: { accountId, name: accountId, defaultTimeZone: 'UTC' },
  metadata,
});

/** Appends `count` AccountCreated events on `streams` streams; returns the last position. */
async function appendMany(store: EventStore, prefix: string, count: number, perAppend = 10): Promise<GlobalPosition> {
  let last: GlobalPosition | null = null;
  for (let i = 0; i < count; i += perAppend) {
    const events = Array.from({ length: Math.min(perAppend, count - i) }, (_, j) => created(`${prefix}-${i + j}`));
    last = (await store.append(`account-${prefix}-${i}`, events, 'any')).position;
  }
  return last!;
}

function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream), lines };
}

let database: TestDatabase;
let db: Db;
let store: EventStore;

beforeAll(async () => {
  database = await createTestDatabase('projections');
  db = createDb(database.url);
  await migrateLatest(db);
  await createTestTables(db);
  store = new PostgresEventStore({ connectionString: database.url, log: silentLogger });
  await store.init();
});

afterAll(async () => {
  await store?.close();
  await db?.destroy();
  await database?.drop();
});

/** Empty read models whose checkpoints sit at the current head, so each test sees only its own events. */
async function reset(): Promise<void> {
  await db.raw('truncate test_events, test_type_counts, test_applications');
  await db('projection_checkpoints').delete();
  const head = await store.headPosition();
  if (!head) return;
  await db('projection_checkpoints').insert(
    [eventLog.name, witness.name, 'test-curious', 'test-bystander', 'test-expanding'].map((name) => ({
      name,
      commit_position: head.commit.toString(),
      prepare_position: head.prepare.toString(),
    })),
  );
}

/** Polls `read` until it answers something, within 20 s (for a state another task reaches in its own time). */
async function waitFor<T>(read: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('the awaited state was not reached within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function applications(): Promise<{ total: number; distinct: number }> {
  const row = await db('test_applications')
    .select(db.raw('count(*)::int as total'), db.raw('count(distinct event_id)::int as distinct'))
    .first();
  return row as { total: number; distinct: number };
}

describe('ProjectionRunner', () => {
  it('applies each event once, with rows and checkpoint in one transaction, and restarts from the checkpoint', async () => {
    await reset();
    const first = await appendMany(store, 'restart-a', 120);
    const runner = new ProjectionRunner({
      store,
      db,
      projections: [eventLog, witness],
      log: silentLogger,
      batchSize: 25,
    });
    const batches: number[] = [];
    await runner.start();
    expect(await waitForProjection(db, [eventLog.name, witness.name], first, { timeoutMs: 20_000 })).toBe(true);
    await runner.stop();

    const checkpoint = await db('projection_checkpoints').where({ name: eventLog.name }).first();
    expect(checkpoint.commit_position).toBe(first.commit.toString());
    expect(checkpoint.prepare_position).toBe(first.prepare.toString());

    // Stopped: new events wait. A fresh runner picks up exactly where the checkpoint says.
    const second = await appendMany(store, 'restart-b', 80);
    expect(await waitForProjection(db, witness.name, second, { timeoutMs: 100 })).toBe(false);
    const again = new ProjectionRunner({
      store,
      db,
      projections: [eventLog, witness],
      log: silentLogger,
      onBatch: (_name, count) => batches.push(count),
    });
    await again.start();
    expect(await waitForProjection(db, [eventLog.name, witness.name], second, { timeoutMs: 20_000 })).toBe(true);
    const status = await again.status();
    await again.stop();

    expect(await applications()).toEqual({ total: 200, distinct: 200 });
    expect(await db('test_events').count({ n: '*' }).first()).toEqual({ n: '200' });
    expect(await db('test_type_counts').select('type', 'count')).toEqual([{ type: 'AccountCreated', count: 200 }]);
    expect(batches.reduce((sum, n) => sum + n, 0)).toBe(160); // 80 new events, for each of the two projections
    expect(status).toEqual([
      { name: eventLog.name, position: second, caughtUp: true, running: true, halted: null },
      { name: witness.name, position: second, caughtUp: true, running: true, halted: null },
    ]);
  });

  it('applies each event once with two runners on the same database while writers append', async () => {
    await reset();
    const runners = [1, 2].map(
      () => new ProjectionRunner({ store, db, projections: [eventLog, witness], log: silentLogger, batchSize: 7 }),
    );
    await Promise.all(runners.map((runner) => runner.start()));
    const written = await Promise.all([1, 2, 3, 4].map((w) => appendMany(store, `two-runners-${w}`, 150, 3)));
    // The positions the appends returned, not headPosition(): the head hides events while any transaction on the
    // server (a runner's batch, say) is still open, so it can be behind what was written.
    const last = written.reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
    expect(await waitForProjection(db, [eventLog.name, witness.name], last, { timeoutMs: 30_000 })).toBe(true);
    await Promise.all(runners.map((runner) => runner.stop()));

    expect(await applications()).toEqual({ total: 600, distinct: 600 });
    expect(await db('test_events').count({ n: '*' }).first()).toEqual({ n: '600' });
    expect(await db('test_type_counts').select('type', 'count')).toEqual([{ type: 'AccountCreated', count: 600 }]);
  });

  it('stops a projection at an event it cannot apply, names it, lets the others go on, and resumes there after a restart', async () => {
    await reset();
    const { log, lines } = collectingLogger();
    const before = await appendMany(store, 'halt-before', 3);
    const unknown = await store.append(
      'mystery-1',
      [{ type: 'MysteryHappened', data: { accountId: 'x' }, metadata }],
      'any',
    );
    const after = await appendMany(store, 'halt-after', 3);
    // The type is in `handles` but not in the catalog: the code that would know it is not deployed yet.
    const curious: Projection = { ...witness, name: 'test-curious', handles: [...witness.handles, 'MysteryHappened'] };
    const bystander: Projection = {
      name: 'test-bystander',
      tables: [],
      handles: ['ProactiveActivated'],
      project: async () => {},
    };
    const halted: { name: string; halt: unknown }[] = [];
    const start = () =>
      new ProjectionRunner({
        store,
        db,
        projections: [curious, bystander],
        log,
        onHalt: (name, halt) => halted.push({ name, halt }),
      });
    const runner = start();
    await runner.start();
    expect(await waitForProjection(db, bystander.name, after, { timeoutMs: 20_000 })).toBe(true);
    const stopped = await waitFor(async () => (await runner.status()).find((s) => s.name === curious.name)?.halted);
    await runner.stop();

    const position = `${unknown.position.commit}/${unknown.position.prepare}`;
    expect(stopped).toMatchObject({ type: 'MysteryHappened', position, streamId: 'mystery-1' });
    expect(stopped.error).toMatch(/Unknown event type MysteryHappened/);
    expect(halted).toContainEqual({ name: curious.name, halt: stopped });
    // Everything before the event was applied; nothing after it.
    expect(await applications()).toEqual({ total: 3, distinct: 3 });
    const checkpoint = (await readCheckpoints(db, [curious.name])).get(curious.name);
    expect(comparePositions(checkpoint ?? null, before)).toBe(0);
    const logged = lines.find((line) => String(line.msg).startsWith('projection stopped'));
    expect(logged).toMatchObject({ projection: curious.name, type: 'MysteryHappened', position });

    // The fix is deployed (the catalog learns the type) and the process restarts: it resumes at that event.
    eventSchemas.MysteryHappened = z.object({ accountId: z.string() });
    try {
      const restarted = start();
      await restarted.start();
      expect(await waitForProjection(db, curious.name, after, { timeoutMs: 20_000 })).toBe(true);
      const status = (await restarted.status()).find((s) => s.name === curious.name);
      await restarted.stop();
      expect(status?.halted).toBeNull();
      expect(await applications()).toEqual({ total: 7, distinct: 7 });
    } finally {
      delete eventSchemas.MysteryHappened;
    }
  });

  it('an event with data its schema refuses stops the projection just the same', async () => {
    await reset();
    const invalid = await store.append(
      'account-bad',
      [{ type: 'AccountCreated', data: { accountId: 'bad' }, metadata }],
      'any',
    );
    await appendMany(store, 'invalid-after', 2);
    const runner = new ProjectionRunner({ store, db, projections: [witness], log: silentLogger });
    await runner.start();
    const stopped = await waitFor(async () => (await runner.status())[0]?.halted);
    await runner.stop();
    expect(stopped).toMatchObject({
      type: 'AccountCreated',
      streamId: 'account-bad',
      error: expect.stringMatching(/name/),
    });
    expect(stopped.position).toBe(`${invalid.position.commit}/${invalid.position.prepare}`);
    expect(await applications()).toEqual({ total: 0, distinct: 0 });
  });

  it('backs off after a failing batch and resubscribes from the checkpoint without applying anything twice', async () => {
    await reset();
    let failures = 2;
    const flaky: Projection = {
      ...witness,
      async project(events, ctx) {
        await witness.project(events, ctx); // written, then rolled back with the checkpoint
        if (failures-- > 0) throw new Error('boom');
      },
    };
    const head = await appendMany(store, 'flaky', 30);
    const runner = new ProjectionRunner({
      store,
      db,
      projections: [flaky],
      log: silentLogger,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    await runner.start();
    expect(await waitForProjection(db, flaky.name, head, { timeoutMs: 20_000 })).toBe(true);
    await runner.stop();
    expect(failures).toBe(-1);
    expect(await applications()).toEqual({ total: 30, distinct: 30 });
  });

  it('a projection failing in the shared feed leaves it and is retried alone; the others never wait for it', async () => {
    await reset();
    const { log, lines } = collectingLogger();
    let broken = true;
    let attempts = 0;
    const flaky: Projection = {
      ...witness,
      async project(events, ctx) {
        attempts++;
        await witness.project(events, ctx); // written, then rolled back with the checkpoint
        if (broken) throw new Error('boom');
      },
    };
    const head = await appendMany(store, 'feed-flaky', 40);
    const runner = new ProjectionRunner({
      store,
      db,
      projections: [flaky, eventLog],
      log,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    await runner.start();
    try {
      // The healthy projection reaches the head while the other one still fails.
      expect(await waitForProjection(db, eventLog.name, head, { timeoutMs: 20_000 })).toBe(true);
      await waitFor(async () => attempts >= 2);
      expect(await waitForProjection(db, flaky.name, head, { timeoutMs: 0 })).toBe(false);
      expect(lines.find((line) => String(line.msg).startsWith('projection failed in the shared feed'))).toMatchObject({
        projection: flaky.name,
      });
      broken = false;
      expect(await waitForProjection(db, flaky.name, head, { timeoutMs: 20_000 })).toBe(true);
      // Alone now, it still applies what comes: an event written after it recovered reaches both.
      const later = await appendMany(store, 'feed-later', 5);
      expect(await waitForProjection(db, [flaky.name, eventLog.name], later, { timeoutMs: 20_000 })).toBe(true);
    } finally {
      await runner.stop();
    }
    expect(await applications()).toEqual({ total: 45, distinct: 45 });
  });

  it('a reactor that owns no tables appends outside a transaction, on its own feed: the read models take in what it appends while it still runs', async () => {
    await reset();
    let seenWhileRunning: boolean | null = null;
    const expanding: Projection = {
      name: 'test-expanding',
      tables: [],
      handles: ['ProactiveActivated'],
      async project() {
        // Like the campaign expander: one event, many appends. Each must reach the read models before it ends,
        // which neither a transaction held open (its appends hidden behind it) nor a shared feed waiting for
        // it would allow.
        const appended = await appendMany(store, 'expanded', 20, 5);
        seenWhileRunning = await waitForProjection(db, eventLog.name, appended, { timeoutMs: 10_000 });
      },
    };
    const runner = new ProjectionRunner({ store, db, projections: [eventLog, expanding], log: silentLogger });
    await runner.start();
    try {
      const trigger = await store.append(
        'account-expanding',
        [{ type: 'ProactiveActivated', data: { accountId: 'x' }, metadata }],
        'any',
      );
      expect(await waitForProjection(db, expanding.name, trigger.position, { timeoutMs: 20_000 })).toBe(true);
    } finally {
      await runner.stop();
    }
    expect(seenWhileRunning).toBe(true);
    expect(await db('test_events').where('account_id', 'like', 'expanded-%').count({ n: '*' }).first()).toEqual({
      n: '20',
    });
  });

  it('writes a batch for every read model of the feed in one transaction, with their checkpoints', async () => {
    await reset();
    const head = await appendMany(store, 'together', 10, 10);
    const runner = new ProjectionRunner({ store, db, projections: [eventLog, witness], log: silentLogger });
    await runner.start();
    try {
      expect(await waitForProjection(db, [eventLog.name, witness.name], head, { timeoutMs: 20_000 })).toBe(true);
    } finally {
      await runner.stop();
    }
    // The transaction that wrote a row is its xmin: one for both projections' rows and both checkpoints.
    const writers = await db.raw<{ rows: { xid: string }[] }>(
      `select distinct xmin::text as xid from test_events where account_id like 'together-%'
       union select distinct a.xmin::text from test_applications a join test_events e using (event_id)
        where e.account_id like 'together-%'
       union select xmin::text from projection_checkpoints where name in (?, ?)`,
      [eventLog.name, witness.name],
    );
    expect(writers.rows).toHaveLength(1);
  });

  it('stops gracefully: the batch in flight commits before stop() resolves', async () => {
    await reset();
    let entered: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (entered = resolve));
    const slow: Projection = {
      ...witness,
      async project(events, ctx) {
        entered();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await witness.project(events, ctx);
      },
    };
    const head = await appendMany(store, 'slow', 5);
    const runner = new ProjectionRunner({ store, db, projections: [slow], log: silentLogger });
    await runner.start();
    await inFlight;
    await runner.stop();
    expect(await waitForProjection(db, slow.name, head, { timeoutMs: 0 })).toBe(true);
    expect(await applications()).toEqual({ total: 5, distinct: 5 });
  });
});

describe('waitForProjection', () => {
  it('is true once every named projection reaches the position, false when the time runs out', async () => {
    await reset();
    const head = await appendMany(store, 'wait', 5);
    const started = Date.now();
    expect(await waitForProjection(db, [eventLog.name], head, { timeoutMs: 150 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const runner = new ProjectionRunner({ store, db, projections: [eventLog], log: silentLogger });
    const waiting = waitForProjection(db, eventLog.name, head, { timeoutMs: 20_000 });
    await runner.start();
    expect(await waiting).toBe(true);
    // One name still behind (never ran) keeps the answer false.
    expect(await waitForProjection(db, [eventLog.name, 'never-ran'], head, { timeoutMs: 50 })).toBe(false);
    expect(await waitForProjection(db, [], head, { timeoutMs: 0 })).toBe(true);
    const later = await appendMany(store, 'wait-later', 1);
    expect(await waitForProjection(db, eventLog.name, later, { timeoutMs: 20_000 })).toBe(true);
    await runner.stop();
  });
});

describe('the idempotent projection pattern', () => {
  it('leaves the same rows when every event is applied twice', async () => {
    const fixtures = [
      recorded('AccountCreated', { accountId: 'a1', name: 'A', defaultTimeZone: 'UTC' }),
      recorded('ProactiveActivated', { accountId: 'a1' }),
      recorded('AccountCreated', { accountId: 'a2', name: 'B', defaultTimeZone: 'UTC' }),
      recorded('UserRemoved', { accountId: 'a2', userId: 'u' }), // not handled: ignored
    ];
    await reset();
    await applyOnce(eventLog, db, fixtures);
    const once = [await tableRows(db, 'test_events'), await tableRows(db, 'test_type_counts')];
    await reset();
    await applyTwice(eventLog, db, fixtures);
    const twice = [await tableRows(db, 'test_events'), await tableRows(db, 'test_type_counts')];
    expect(twice).toEqual(once);
    expect(once[1]).toEqual([
      { type: 'AccountCreated', count: 2 },
      { type: 'ProactiveActivated', count: 1 },
    ]);
  });
});
