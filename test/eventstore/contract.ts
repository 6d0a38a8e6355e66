import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  comparePositions,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../../src/eventstore/port.ts';

export type StoreFactory = () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>;

const metadata = { correlationId: 'c-1', causationId: null, actor: 'test' };
const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ type, data, metadata });

async function expectConflict(promise: Promise<unknown>): Promise<WrongExpectedVersionError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  return error as WrongExpectedVersionError;
}

/** Collects what a subscription delivers; resolves `until` once `count` events arrived. */
function collector(store: EventStore, from: RecordedEvent['position'] | null = null) {
  const seen: RecordedEvent[] = [];
  let waiting: { count: number; resolve: () => void } | null = null;
  const subscription = store.subscribe({
    from,
    onEvents: async (events) => {
      seen.push(...events);
      if (waiting && seen.length >= waiting.count) waiting.resolve();
    },
  });
  return {
    seen,
    subscription,
    until(count: number, timeoutMs = 20_000): Promise<void> {
      if (seen.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`saw ${seen.length} of ${count} events`)), timeoutMs);
        waiting = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
}

/**
 * What every event-store adapter must do, whatever is behind it. Streams get random names so the suite can share
 * a store with other tests.
 */
export function describeEventStoreContract(name: string, factory: StoreFactory): void {
  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: () => Promise<void>;
    const stream = (prefix = 's') => `${prefix}-${randomUUID()}`;

    beforeAll(async () => {
      ({ store, cleanup } = await factory());
      await store.init();
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('appends to a new stream with no_stream, and refuses a second no_stream append', async () => {
      const id = stream();
      const first = await store.append(id, [event('A'), event('B')], 'no_stream');
      expect(first.nextExpectedVersion).toBe(1);
      const conflict = await expectConflict(store.append(id, [event('C')], 'no_stream'));
      expect(conflict.actual).toBe(1);
      expect((await store.read(id)).map((e) => e.type)).toEqual(['A', 'B']);
    });

    it('appends with an exact expected version and refuses a stale one, writing nothing', async () => {
      const id = stream();
      await store.append(id, [event('A')], 'no_stream');
      const next = await store.append(id, [event('B')], 0);
      expect(next.nextExpectedVersion).toBe(1);
      await expectConflict(store.append(id, [event('stale-1'), event('stale-2')], 0));
      await expectConflict(store.append(stream(), [event('X')], 0));
      const events = await store.read(id);
      expect(events.map((e) => [e.type, e.revision])).toEqual([
        ['A', 0],
        ['B', 1],
      ]);
    });

    it('stream_exists needs the stream; any takes either', async () => {
      const id = stream();
      await expectConflict(store.append(id, [event('A')], 'stream_exists'));
      expect(await store.read(id)).toEqual([]);
      await store.append(id, [event('A')], 'any');
      await store.append(id, [event('B')], 'stream_exists');
      await store.append(id, [event('C')], 'any');
      expect((await store.read(id)).map((e) => e.revision)).toEqual([0, 1, 2]);
    });

    it('gives a multi-event append consecutive revisions and increasing positions, keeping data and metadata', async () => {
      const id = stream();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const result = await store.append(
        id,
        ids.map((eventId, index) => ({
          id: eventId,
          type: 'Numbered',
          data: { index, nested: { ok: true } },
          metadata,
        })),
        'no_stream',
      );
      const events = await store.read(id);
      expect(events.map((e) => e.id)).toEqual(ids);
      expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
      expect(events[2]!.data).toEqual({ index: 2, nested: { ok: true } });
      expect(events[0]!.metadata).toMatchObject(metadata);
      expect(events[0]!.createdAt).toBeInstanceOf(Date);
      for (let i = 1; i < events.length; i++) {
        expect(comparePositions(events[i - 1]!.position, events[i]!.position)).toBe(-1);
      }
      expect(comparePositions(result.position, events[2]!.position)).toBe(0);
      expect((await store.read(id, { fromRevision: 1 })).map((e) => e.revision)).toEqual([1, 2]);
    });

    it('reads all events in global order, in pages strictly after a position', async () => {
      const id = stream('page');
      const written = await store.append(
        id,
        Array.from({ length: 7 }, (_, i) => event('Paged', { i })),
        'no_stream',
      );
      const all: RecordedEvent[] = [];
      let from: RecordedEvent['position'] | null = null;
      // Events become readable once every transaction that started before them has ended, cluster-wide (other
      // test files share the Postgres server), so page until the head is reached, within a bound.
      const deadline = Date.now() + 10_000;
      while (from === null || comparePositions(from, written.position) < 0) {
        const page = await store.readAll(from, 3);
        if (page.length === 0) {
          if (Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        all.push(...page);
        from = page[page.length - 1]!.position;
      }
      expect(await store.readAll(from, 3)).toEqual([]);
      for (let i = 1; i < all.length; i++) expect(comparePositions(all[i - 1]!.position, all[i]!.position)).toBe(-1);
      expect(all.filter((e) => e.streamId === id).map((e) => e.data.i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(comparePositions(all[all.length - 1]!.position, written.position)).toBe(0);
      expect(comparePositions((await store.headPosition())!, written.position)).toBe(0);
    });

    it('subscribes: catches up from a position, then delivers live appends; stop() ends delivery', async () => {
      const id = stream('sub');
      const first = await store.append(id, [event('Before')], 'no_stream');
      await store.append(id, [event('After-1')], 0);
      const watcher = collector(store, first.position);
      await watcher.until(1);
      await store.append(id, [event('After-2')], 1);
      await watcher.until(2);
      const mine = () => watcher.seen.filter((e) => e.streamId === id).map((e) => e.type);
      expect(mine()).toEqual(['After-1', 'After-2']);
      await watcher.subscription.stop();
      await store.append(id, [event('After-stop')], 2);
      // Once a live subscriber has been handed the event, a stopped one that still listened would have been too.
      const live = collector(store, first.position);
      await live.until(3);
      await live.subscription.stop();
      expect(live.seen.filter((e) => e.streamId === id).map((e) => e.type)).toEqual([
        'After-1',
        'After-2',
        'After-stop',
      ]);
      expect(mine()).toEqual(['After-1', 'After-2']);
    });

    it('50 racing pairs expecting no_stream: exactly one of each pair wins', async () => {
      const ids = Array.from({ length: 50 }, () => stream('race'));
      const outcomes = await Promise.all(
        ids.map((id) =>
          Promise.allSettled([
            store.append(id, [event('Left'), event('Left-2')], 'no_stream'),
            store.append(id, [event('Right')], 'no_stream'),
          ]),
        ),
      );
      for (const [index, pair] of outcomes.entries()) {
        const won = pair.filter((outcome) => outcome.status === 'fulfilled');
        const lost = pair.filter((outcome) => outcome.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
        const types = (await store.read(ids[index]!)).map((e) => e.type);
        expect(types).toEqual(pair[0]!.status === 'fulfilled' ? ['Left', 'Left-2'] : ['Right']);
      }
    });

    it('appendMany: each stream against its own expected version; a conflicting one alone writes nothing', async () => {
      const fresh = stream('many');
      const existing = stream('many');
      const stale = stream('many');
      await store.append(existing, [event('E0')], 'no_stream');
      await store.append(stale, [event('S0'), event('S1')], 'no_stream');
      const outcomes = await store.appendMany([
        { streamId: fresh, events: [event('F0'), event('F1')], expectedVersion: 'no_stream' },
        { streamId: stale, events: [event('S-late')], expectedVersion: 0 },
        { streamId: existing, events: [event('E1')], expectedVersion: 0 },
      ]);
      expect(outcomes).toHaveLength(3);
      const [first, second, third] = outcomes;
      expect(first).not.toBeInstanceOf(WrongExpectedVersionError);
      expect((first as { nextExpectedVersion: number }).nextExpectedVersion).toBe(1);
      expect(second).toBeInstanceOf(WrongExpectedVersionError);
      expect((second as WrongExpectedVersionError).streamId).toBe(stale);
      expect((second as WrongExpectedVersionError).actual).toBe(1);
      expect((third as { nextExpectedVersion: number }).nextExpectedVersion).toBe(1);
      const read = await store.readStreams([fresh, stale, existing, stream('missing')]);
      expect(read.get(fresh)!.map((e) => e.type)).toEqual(['F0', 'F1']);
      expect(read.get(stale)!.map((e) => e.type)).toEqual(['S0', 'S1']);
      expect(read.get(existing)!.map((e) => [e.type, e.revision])).toEqual([
        ['E0', 0],
        ['E1', 1],
      ]);
      expect([...read.values()].at(-1)).toEqual([]);
      await expect(
        store.appendMany([
          { streamId: fresh, events: [event('X')], expectedVersion: 'any' },
          { streamId: fresh, events: [event('Y')], expectedVersion: 'any' },
        ]),
      ).rejects.toThrow(/twice/);
    });

    it('racing appendMany over overlapping streams: each stream is won once, nothing deadlocks', async () => {
      const ids = Array.from({ length: 30 }, () => stream('many-race'));
      // Each writer takes the streams in another order; each stream must end with exactly one writer's event.
      const orders = Array.from({ length: 6 }, () => [...ids].sort(() => Math.random() - 0.5));
      const outcomes = await Promise.all(
        orders.map((order, w) =>
          store.appendMany(
            order.map((streamId) => ({
              streamId,
              events: [event('Won', { w })],
              expectedVersion: 'no_stream' as const,
            })),
          ),
        ),
      );
      const read = await store.readStreams(ids);
      for (const id of ids) {
        const winners = orders
          .map((order, w) => ({ w, outcome: outcomes[w]![order.indexOf(id)] }))
          .filter(({ outcome }) => !(outcome instanceof WrongExpectedVersionError));
        expect(winners).toHaveLength(1);
        const events = read.get(id)!;
        expect(events).toHaveLength(1);
        expect((events[0]!.data as { w: number }).w).toBe(winners[0]!.w);
      }
      const won = outcomes.flat().filter((outcome) => !(outcome instanceof WrongExpectedVersionError));
      expect(won).toHaveLength(ids.length);
    });

    it('8 concurrent writers: a subscriber sees every event exactly once, in global and stream order', async () => {
      const start = await store.headPosition();
      const watcher = collector(store, start);
      const shared = Array.from({ length: 4 }, () => stream('shared'));
      const written = new Set<string>();
      const writer = async (w: number) => {
        const own = stream(`writer${w}`);
        let ownVersion: number | 'no_stream' = 'no_stream';
        for (let round = 0; round < 40; round++) {
          const size = 1 + Math.floor(Math.random() * 5);
          const batch = Array.from({ length: size }, () => ({ ...event('Written', { w, round }), id: randomUUID() }));
          if (Math.random() < 0.5) {
            const result = await store.append(own, batch, ownVersion);
            ownVersion = result.nextExpectedVersion;
          } else {
            await store.append(shared[Math.floor(Math.random() * shared.length)]!, batch, 'any');
          }
          for (const item of batch) written.add(item.id!);
          if (Math.random() < 0.3) await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
      await watcher.until(written.size);
      // A marker appended after every writer finished is delivered after all their events: a duplicate delivered
      // late would be in `seen` by then.
      const marker = await store.append(stream('marker'), [event('Marker')], 'no_stream');
      await watcher.until(written.size + 1);
      while (!watcher.seen.some((e) => comparePositions(e.position, marker.position) === 0)) {
        await watcher.until(watcher.seen.length + 1);
      }
      await watcher.subscription.stop();

      const delivered = watcher.seen.filter((e) => written.has(e.id));
      expect(delivered).toHaveLength(written.size);
      expect(new Set(delivered.map((e) => e.id)).size).toBe(written.size);
      for (let i = 1; i < watcher.seen.length; i++) {
        expect(comparePositions(watcher.seen[i - 1]!.position, watcher.seen[i]!.position)).toBe(-1);
      }
      const lastRevision = new Map<string, number>();
      for (const e of delivered) {
        const previous = lastRevision.get(e.streamId) ?? -1;
        expect(e.revision).toBe(previous + 1);
        lastRevision.set(e.streamId, e.revision);
      }
    });
  });
}
