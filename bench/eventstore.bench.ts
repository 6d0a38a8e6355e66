import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { comparePositions, type NewEvent, type RecordedEvent } from '../src/eventstore/port.ts';
import { PostgresEventStore } from '../src/eventstore/postgres.ts';
import { benchPostgres, rate } from './support.ts';

const metadata = { correlationId: 'bench', causationId: null, actor: 'bench' };
const newEvent = (i: number): NewEvent => ({ type: 'BenchEvent', data: { i, payload: 'x'.repeat(64) }, metadata });

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

async function freshStore(url: string, name: string): Promise<{ store: PostgresEventStore; url: string }> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const target = new URL(url);
  target.pathname = `/${name}`;
  const store = new PostgresEventStore({ connectionString: target.toString(), poolMax: 24 });
  await store.init();
  return { store, url: target.toString() };
}

/** Runs `tasks` with at most `inFlight` at once. */
async function pool(count: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  try {
    const results: Record<string, unknown> = { adapter: 'postgres', postgres: 'embedded, default settings (fsync on)' };

    // (a) sequential single-event appends to new streams
    {
      const { store } = await freshStore(server.url, 'bench_a');
      const count = 5000;
      const started = performance.now();
      for (let i = 0; i < count; i++) await store.append(`a-${i}`, [newEvent(i)], 'no_stream');
      const ms = performance.now() - started;
      results.a_sequential_single_appends = { events: count, ms: Math.round(ms), eventsPerSecond: rate(count, ms) };
      await store.close();
    }

    // (b) the same with 16 in flight
    {
      const { store } = await freshStore(server.url, 'bench_b');
      const count = 5000;
      const started = performance.now();
      await pool(count, 16, (i) => store.append(`b-${i}`, [newEvent(i)], 'no_stream').then(() => {}));
      const ms = performance.now() - started;
      results.b_single_appends_16_in_flight = {
        events: count,
        ms: Math.round(ms),
        eventsPerSecond: rate(count, ms),
        target: 3000,
      };
      await store.close();
    }

    // (c) 200 streams × 50 events, 8 in flight, each stream written in appends of `batch` events with exact
    // expected versions. Reported for three batch sizes; the target is met from 25 events per append.
    for (const batch of [10, 25, 50]) {
      const { store } = await freshStore(server.url, `bench_c${batch}`);
      const streams = 200;
      const perStream = 50;
      const started = performance.now();
      await pool(streams, 8, async (s) => {
        let version: number | 'no_stream' = 'no_stream';
        for (let offset = 0; offset < perStream; offset += batch) {
          const events = Array.from({ length: batch }, (_, i) => newEvent(offset + i));
          version = (await store.append(`c-${s}`, events, version)).nextExpectedVersion;
        }
      });
      const ms = performance.now() - started;
      const total = streams * perStream;
      results[`c_200_streams_x_50_events_8_in_flight_${batch}_per_append`] = {
        events: total,
        eventsPerAppend: batch,
        ms: Math.round(ms),
        eventsPerSecond: rate(total, ms),
        target: 32000,
      };
      await store.close();
    }

    // (d) catch-up over 20,000 events written by 8 concurrent appenders, checked for exactly once and in order
    {
      const { store } = await freshStore(server.url, 'bench_d');
      const total = 20000;
      const written = new Set<string>();
      await pool(total / 10, 8, async (i) => {
        const events = Array.from({ length: 10 }, (_, j) => ({ ...newEvent(i * 10 + j), id: randomUUID() }));
        await store.append(`d-${i % 97}`, events, 'any');
        for (const event of events) written.add(event.id!);
      });
      const seen: RecordedEvent[] = [];
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        const subscription = store.subscribe({
          from: null,
          batchSize: 5000,
          onEvents: async (events) => {
            seen.push(...events);
            if (seen.length >= total) {
              resolve();
              void subscription.stop();
            }
          },
          onError: reject,
        });
      });
      const ms = performance.now() - started;
      const ids = new Set(seen.map((event) => event.id));
      let outOfOrder = 0;
      for (let i = 1; i < seen.length; i++)
        if (comparePositions(seen[i - 1]!.position, seen[i]!.position) >= 0) outOfOrder++;
      results.d_catch_up_20000_events = {
        events: seen.length,
        ms: Math.round(ms),
        eventsPerSecond: rate(seen.length, ms),
        target: 50000,
        lost: [...written].filter((id) => !ids.has(id)).length,
        duplicated: seen.length - ids.size,
        outOfOrder,
      };
      await store.close();
    }

    results.peakRssMiB = Math.round(peakRss / 2 ** 20);
    return results;
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
}
