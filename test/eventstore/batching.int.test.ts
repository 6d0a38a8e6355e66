import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingEventStore } from '../../src/eventstore/batching.ts';
import { WrongExpectedVersionError } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { describeEventStoreContract } from './contract.ts';

// The batching wrapper is an event store like any other: the whole contract holds through it.
describeEventStoreContract('postgres, batched', async () => {
  const database = await createTestDatabase('es_batched');
  const store = new BatchingEventStore(new PostgresEventStore({ connectionString: database.url, poolMax: 24 }));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await database.drop();
    },
  };
});

describe('batching event store', () => {
  let database: TestDatabase;
  let inner: PostgresEventStore;
  let store: BatchingEventStore;
  const metadata = { correlationId: 'c', causationId: null, actor: 'test' };
  const event = (type: string) => ({ type, data: {}, metadata });

  beforeAll(async () => {
    database = await createTestDatabase('es_batching');
    inner = new PostgresEventStore({ connectionString: database.url });
    store = new BatchingEventStore(inner);
    await store.init();
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('appends asked together go in few round trips, each with its own outcome', async () => {
    const ids = Array.from({ length: 100 }, () => `b-${randomUUID()}`);
    await store.append(ids[0]!, [event('Before')], 'no_stream');
    let manyCalls = 0;
    const appendMany = inner.appendMany.bind(inner);
    inner.appendMany = (appends) => {
      manyCalls++;
      return appendMany(appends);
    };
    try {
      const outcomes = await Promise.allSettled(ids.map((id) => store.append(id, [event('Batched')], 'no_stream')));
      // The first stream already existed: its append alone conflicts.
      expect(outcomes[0]!.status).toBe('rejected');
      expect((outcomes[0] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
      expect(outcomes.slice(1).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      expect(manyCalls).toBeGreaterThan(0);
      expect(manyCalls).toBeLessThan(10);
    } finally {
      inner.appendMany = appendMany;
    }
    const read = await Promise.all(ids.map((id) => store.read(id)));
    expect(read[0]!.map((e) => e.type)).toEqual(['Before']);
    expect(read.slice(1).every((events) => events.length === 1 && events[0]!.type === 'Batched')).toBe(true);
  });

  it('two appends to one stream asked together are checked one after the other', async () => {
    const id = `b-${randomUUID()}`;
    const [first, second] = await Promise.allSettled([
      store.append(id, [event('First')], 'no_stream'),
      store.append(id, [event('Second')], 'no_stream'),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    const [third] = await Promise.all([store.append(id, [event('Third')], 0)]);
    expect(third.nextExpectedVersion).toBe(1);
    expect((await store.read(id)).map((e) => e.type)).toEqual(['First', 'Third']);
  });
});
