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

describe('postgres adapter: transactions that commit out of order', () => {
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

  it('a subscriber never skips an event whose transaction started earlier but committed later, and never sees a rolled-back one', async () => {
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe({
      from: await store.headPosition(),
      onEvents: async (events) => {
        seen.push(...events);
      },
    });
    const committed = new Set<string>();
    const rolledBack = new Set<string>();
    const writer = async (w: number) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
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
          // Hold the transaction open for a random time, so later positions often commit first.
          await client.query('select pg_sleep($1)', [Math.random() * 0.05]);
          await client.query(rollback ? 'rollback' : 'commit');
          for (const id of ids) (rollback ? rolledBack : committed).add(id);
        }
      } finally {
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    const deadline = Date.now() + 15_000;
    while (seen.length < committed.size && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await subscription.stop();

    expect(seen.filter((e) => rolledBack.has(e.id))).toEqual([]);
    expect(seen.map((e) => e.id).sort()).toEqual([...committed].sort());
    for (let i = 1; i < seen.length; i++) expect(comparePositions(seen[i - 1]!.position, seen[i]!.position)).toBe(-1);
    const positions = seen.map((e) => Number(e.position.prepare));
    const outOfSequence = positions.some((position, i) => i > 0 && position < positions[i - 1]!);
    // The interesting case happened: some later sequence number was delivered before an earlier one.
    expect(outOfSequence).toBe(true);
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
    for (let tries = 0; after.length < 2 && tries < 500; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await store.readAll(before, 100);
    }
    expect(after.map((e) => e.type)).toEqual(['Slow', 'Fast']);
    expect(comparePositions(after[1]!.position, fast.position)).toBe(0);
  });
});
