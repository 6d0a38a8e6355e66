/**
 * Replay speed: 200,000 events rebuilt into a one-row-per-event read model and swapped in (target ≤ 4 s).
 * Loading the store is not measured. Each replay is a full rebuild from position 0, as `npm run replay` does.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { EventStore, NewEvent } from '../src/eventstore/port.ts';
import { PostgresEventStore } from '../src/eventstore/postgres.ts';
import { createDb, migrateLatest } from '../src/infra/db.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { replayProjection } from '../src/projections/replay.ts';
import type { Projection } from '../src/projections/types.ts';
import { benchPostgres, rate } from './support.ts';

const EVENTS = 200_000;
const PER_APPEND = 1000;
const LOADERS = 4;
const REPLAYS = 3;

/** One row per event, written with one multi-row statement per batch: the shape of the audit log. */
const eventRows: Projection = {
  name: 'bench-event-rows',
  tables: ['bench_events'],
  handles: ['AccountCreated', 'UserAdded', 'RoleChanged'],
  async project(events, { trx, table }) {
    const rows = events.map((event) => ({
      event_id: event.id,
      type: event.type,
      account_id: event.data.accountId,
      stream_id: event.streamId,
      revision: event.revision,
      commit_position: event.position.commit.toString(),
      prepare_position: event.position.prepare.toString(),
    }));
    await trx.raw(
      `insert into ?? (event_id, type, account_id, stream_id, revision, commit_position, prepare_position)
       select * from json_to_recordset(?::json) as r(event_id uuid, type text, account_id text, stream_id text,
                                                       revision integer, commit_position numeric, prepare_position numeric)
       on conflict (event_id) do nothing`,
      [table('bench_events'), JSON.stringify(rows)],
    );
  },
};

const metadata = { correlationId: 'bench', causationId: null, actor: 'system:bench' };

function streamEvents(stream: number): NewEvent[] {
  const accountId = `bench-${stream}`;
  return Array.from({ length: PER_APPEND }, (_, i): NewEvent => {
    if (i === 0)
      return { type: 'AccountCreated', data: { accountId, name: accountId, defaultTimeZone: 'UTC' }, metadata };
    const userId = `user-${Math.ceil(i / 2)}`;
    return i % 2 === 1
      ? {
          type: 'UserAdded',
          data: { accountId, userId, kind: 'person', email: `${userId}@example.test`, name: userId, role: 'agent' },
          metadata,
        }
      : { type: 'RoleChanged', data: { accountId, userId, role: 'campaign_manager', previousRole: 'agent' }, metadata };
  });
}

async function load(store: EventStore): Promise<number> {
  const started = performance.now();
  let next = 0;
  const streams = EVENTS / PER_APPEND;
  await Promise.all(
    Array.from({ length: LOADERS }, async () => {
      for (let stream = next++; stream < streams; stream = next++) {
        await store.append(`account-bench-${stream}`, streamEvents(stream), 'no_stream');
      }
    }),
  );
  return Math.round(performance.now() - started);
}

/** Times the store's readAll so that a slow replay can be blamed on reading or on writing. */
function timedStore(store: EventStore): { store: EventStore; readMs: () => number } {
  let readMs = 0;
  const timed: EventStore = {
    kind: store.kind,
    init: () => store.init(),
    append: (streamId, events, expected) => store.append(streamId, events, expected),
    appendMany: (appends) => store.appendMany(appends),
    read: (streamId, options) => store.read(streamId, options),
    readStreams: (streamIds) => store.readStreams(streamIds),
    readAll: async (from, batchSize) => {
      const started = performance.now();
      try {
        return await store.readAll(from, batchSize);
      } finally {
        readMs += performance.now() - started;
      }
    },
    subscribe: (options) => store.subscribe(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  return { store: timed, readMs: () => Math.round(readMs) };
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  // A database of its own, so that BENCH_DATABASE_URL servers are left as they were found.
  const name = `bench_projection_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const db = createDb(url.toString());
  const store = new PostgresEventStore({ connectionString: url.toString(), log: silentLogger });
  try {
    await migrateLatest(db);
    await store.init();
    await db.schema.createTable('bench_events', (t) => {
      t.uuid('event_id').primary();
      t.text('type').notNullable();
      t.text('account_id').notNullable();
      t.text('stream_id').notNullable();
      t.integer('revision').notNullable();
      t.decimal('commit_position', 20, 0).notNullable();
      t.decimal('prepare_position', 20, 0).notNullable();
      t.index(['account_id', 'type']);
    });
    const loadMs = await load(store);

    const replays: Record<string, number>[] = [];
    for (let i = 0; i < REPLAYS; i += 1) {
      const timed = timedStore(store);
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 25);
      const result = await replayProjection(db, timed.store, eventRows, { log: silentLogger, batchSize: 5000 });
      clearInterval(sampler);
      const rows = Number((await db('bench_events').count({ n: '*' }).first())?.n);
      if (result.events !== EVENTS || rows !== EVENTS)
        throw new Error(`replayed ${result.events} events into ${rows} rows`);
      replays.push({
        ms: result.ms,
        eventsPerSecond: rate(result.events, result.ms),
        readAllMs: timed.readMs(),
        peakRssMiB: Math.round(peakRss / 2 ** 20),
      });
    }
    const sorted = [...replays].sort((a, b) => a.ms! - b.ms!);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return {
      events: EVENTS,
      loadMs,
      batchSize: 5000,
      replays,
      medianMs: median.ms,
      medianEventsPerSecond: median.eventsPerSecond,
      peakRssMiB: Math.max(...replays.map((replay) => replay.peakRssMiB!)),
      processMaxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      targetMs: 4000,
      metTarget: median.ms! <= 4000,
      note: 'readAllMs is time inside store.readAll, which overlaps with writing (the replay reads ahead).',
    };
  } finally {
    await store.close();
    await db.destroy();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    await server.stop();
  }
}
