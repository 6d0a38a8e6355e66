import type { Knex } from 'knex';
import { comparePositions, type EventStore, formatPosition, type GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { handledEvents, lockCheckpoint, saveCheckpoint } from './runner.ts';
import { type Projection, tableMapper } from './types.ts';
import { announceCheckpoint } from './wait.ts';

const REBUILD = '__rebuild';
const OLD = '__old';
/** Postgres truncates identifiers beyond 63 bytes, which would make two shadow names collide silently. */
const MAX_IDENTIFIER = 63;
/** Passes over the store before the swap catches up the rest (see replayProjection). */
const MAX_PASSES = 3;

export interface ReplayOptions {
  log: Logger;
  /** After each batch: events read so far (handled or not) and the shadow's position. */
  onProgress?: (processed: number, position: GlobalPosition | null) => void;
  /** Events read from the store per batch and applied per transaction. */
  batchSize?: number;
  /** How long the swap may wait for readers of the live tables before it gives up and tries again. */
  lockTimeoutMs?: number;
}

export interface ReplayResult {
  /** Events read from the store, handled or not. */
  events: number;
  /** Of those, the events the projection handled. */
  applied: number;
  ms: number;
  /** The checkpoint the rebuilt tables were swapped in at. */
  position: GlobalPosition | null;
}

/**
 * Rebuilds a projection from the start of the store into shadow tables (`T__rebuild`) and swaps them in, while
 * the app keeps serving the live tables and a live runner (here or in another process) keeps applying events.
 *
 * The swap transaction locks the live checkpoint row, which is the lock every runner takes before it writes, so
 * the live runner waits; inside the lock the shadow catches up to the head, the tables trade names, and the
 * checkpoint moves to the shadow's position. The live runner then skips everything at or before it.
 */
export async function replayProjection(
  db: Db,
  store: EventStore,
  projection: Projection,
  { log, onProgress, batchSize = 5000, lockTimeoutMs = 3000 }: ReplayOptions,
): Promise<ReplayResult> {
  const started = performance.now();
  const replayLog = log.child({ projection: projection.name, replay: true });
  const shadow = tableMapper(projection, REBUILD);
  // Two replays of one projection would write into each other's shadow tables. An advisory lock held by an idle,
  // read-only transaction keeps them apart without holding back anyone's snapshot (it never gets an xid).
  const guard = await db.transaction();
  let ownsShadows = false;
  try {
    const { rows } = await guard.raw('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [
      `outbound:replay:${projection.name}`,
    ]);
    if (!rows[0]?.locked) throw new Error(`A replay of projection ${projection.name} is already running`);
    ownsShadows = true;
    await createShadowTables(db, projection);
    replayLog.info({ tables: projection.tables }, 'replay started');

    let position: GlobalPosition | null = null;
    let events = 0;
    let applied = 0;
    // Each pass reads up to the head as it was when the pass began, so that writers faster than the replay cannot
    // keep it chasing for ever; the swap catches up what came meanwhile, inside its lock. A pass that ends on a short
    // batch was at the head; otherwise another pass shortens what the swap has to catch up, while passes get shorter
    // (writers slower than the replay), up to MAX_PASSES.
    let previousPass = Number.POSITIVE_INFINITY;
    for (let pass = 1; pass <= MAX_PASSES; pass += 1) {
      const target = await store.headPosition();
      if (!target || comparePositions(position, target) >= 0) break;
      const before = events;
      const read = await readUpTo(store, projection, shadow, {
        from: position,
        target,
        batchSize,
        db,
        onBatch: (read, at) => onProgress?.(before + read, at),
      });
      position = read.position;
      events += read.events;
      applied += read.applied;
      if (read.reachedHead || read.events >= previousPass) break;
      previousPass = read.events;
    }

    for (let attempt = 1; ; attempt += 1) {
      try {
        const swapped = await db.transaction(async (trx) => {
          await trx.raw(`set local lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
          const live = await lockCheckpoint(trx, projection.name);
          // Catch up inside the lock, to the head as it is now: writers do not stop for us, and what they add
          // later is past the new checkpoint, so the live runner applies it. Positions live in locals so that a
          // rolled-back attempt leaves no trace.
          const head = await store.headPosition();
          let caughtUp = position;
          let extra = 0;
          let extraApplied = 0;
          while (comparePositions(caughtUp, head) < 0) {
            const batch = await store.readAll(caughtUp, batchSize);
            if (batch.length === 0) break;
            caughtUp = batch[batch.length - 1]!.position;
            const handled = handledEvents(projection, batch);
            if (handled.length > 0) await projection.project(handled, { trx, table: shadow });
            extra += batch.length;
            extraApplied += handled.length;
          }
          if (comparePositions(caughtUp, live) < 0) {
            throw new Error(
              `Replay of ${projection.name} reached ${formatPosition(caughtUp)} but the live checkpoint is at ${formatPosition(live)}`,
            );
          }
          await swapTables(trx, projection);
          if (caughtUp) await saveCheckpoint(trx, projection.name, caughtUp);
          return { caughtUp, extra, extraApplied };
        });
        position = swapped.caughtUp;
        events += swapped.extra;
        applied += swapped.extraApplied;
        break;
      } catch (error) {
        // 55P03: a long read of a live table outlasted lock_timeout. Readers queue behind a waiting rename, so
        // giving up and trying again is kinder to the app than waiting indefinitely.
        if ((error as { code?: string }).code !== '55P03' || attempt >= 5) throw error;
        replayLog.warn({ attempt }, 'replay swap timed out waiting for a lock; trying again');
      }
    }
    announceCheckpoint(projection.name);
    onProgress?.(events, position);
    const ms = Math.round(performance.now() - started);
    replayLog.info({ events, applied, ms, position: formatPosition(position) }, 'replay swapped in');
    return { events, applied, ms, position };
  } catch (error) {
    // The live tables are untouched (the swap is all or nothing); only the half-built shadows are left to clear.
    if (ownsShadows) {
      for (const table of projection.tables) await db.raw('drop table if exists ??', [table + REBUILD]).catch(() => {});
    }
    throw error;
  } finally {
    await guard.rollback().catch(() => {});
  }
}

/** One pass of a replay: the store from `from` up to `target` into the shadow tables, a transaction a batch. */
async function readUpTo(
  store: EventStore,
  projection: Projection,
  shadow: ReturnType<typeof tableMapper>,
  options: {
    from: GlobalPosition | null;
    target: GlobalPosition;
    batchSize: number;
    db: Db;
    onBatch: (events: number, position: GlobalPosition | null) => void;
  },
): Promise<{ position: GlobalPosition | null; events: number; applied: number; reachedHead: boolean }> {
  const { target, batchSize, db } = options;
  let position = options.from;
  let events = 0;
  let applied = 0;
  // The next batch is read while the current one is written: reading is a good part of a replay's time.
  let next = store.readAll(position, batchSize);
  for (;;) {
    const batch = await next;
    if (batch.length === 0) return { position, events, applied, reachedHead: true };
    position = batch[batch.length - 1]!.position;
    // A short batch means the head is near; the swap catches up the rest.
    const last = batch.length < batchSize || comparePositions(position, target) >= 0;
    if (!last) {
      next = store.readAll(position, batchSize);
      next.catch(() => {}); // awaited on the next turn; this only stops an early exit from leaving it unhandled
    }
    const handled = handledEvents(projection, batch);
    if (handled.length > 0) {
      await db.transaction(async (trx) => {
        // The shadow is thrown away if we crash before the swap, so its batches need not wait for the disk;
        // the swap itself commits durably. Worth about a tenth of a replay's time.
        await trx.raw('set local synchronous_commit = off');
        await projection.project(handled, { trx, table: shadow });
      });
    }
    events += batch.length;
    applied += handled.length;
    options.onBatch(events, position);
    if (last) return { position, events, applied, reachedHead: batch.length < batchSize };
  }
}

async function createShadowTables(db: Db, projection: Projection): Promise<void> {
  for (const table of projection.tables) {
    if (Buffer.byteLength(table + REBUILD) > MAX_IDENTIFIER) {
      throw new Error(`Table name ${table} is too long to replay (its shadow exceeds ${MAX_IDENTIFIER} bytes)`);
    }
    await db.raw('drop table if exists ??', [table + REBUILD]);
    // Left only by someone renaming tables by hand: a swap never commits half-way.
    await db.raw('drop table if exists ??', [table + OLD]);
    // Indexes and unique keys come along: projections' `on conflict` needs them. Foreign keys do not (LIKE
    // never copies them); swapTables puts them back once the data is in.
    await db.raw('create table ?? (like ?? including all)', [table + REBUILD, table]);
  }
}

interface IndexRow {
  table: string;
  index: string;
  def: string;
}

interface ForeignKeyRow {
  table: string;
  name: string;
  def: string;
}

interface OwnedSequenceRow {
  sequence: string;
  table: string;
  column: string;
}

/**
 * Trades the live tables for their shadows inside the caller's transaction, leaving the schema as the migrations
 * made it: the same index and constraint names (a later migration may drop one by name), the same foreign keys,
 * serial sequences owned by the new tables.
 */
async function swapTables(trx: Knex.Transaction, projection: Projection): Promise<void> {
  const tables = [...projection.tables];
  const shadows = tables.map((table) => table + REBUILD);
  const inSchema = 'relnamespace = current_schema()::regnamespace';

  const { rows: indexes } = (await trx.raw(
    `select t.relname as "table", i.relname as "index", pg_get_indexdef(i.oid) as def
       from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
      where t.relname = any(?) and t.${inSchema} order by i.relname`,
    [[...tables, ...shadows]],
  )) as { rows: IndexRow[] };
  const { rows: foreignKeys } = (await trx.raw(
    `select t.relname as "table", c.conname as name, pg_get_constraintdef(c.oid) as def
       from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_class r on r.oid = c.confrelid
      where c.contype = 'f' and ((t.relname = any(?) and t.${inSchema}) or (r.relname = any(?) and r.${inSchema}))`,
    [tables, tables],
  )) as { rows: ForeignKeyRow[] };
  const { rows: sequences } = (await trx.raw(
    `select s.relname as "sequence", t.relname as "table", a.attname as "column"
       from pg_depend d join pg_class s on s.oid = d.objid and s.relkind = 'S'
       join pg_class t on t.oid = d.refobjid join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
      where d.deptype = 'a' and t.relname = any(?) and t.${inSchema}`,
    [tables],
  )) as { rows: OwnedSequenceRow[] };

  // Dropped by hand and recreated below, so that dropping the old tables never needs CASCADE.
  for (const fk of foreignKeys) await trx.raw('alter table ?? drop constraint ??', [fk.table, fk.name]);
  for (const table of tables) await trx.raw('alter table ?? rename to ??', [table, table + OLD]);
  for (const table of tables) await trx.raw('alter table ?? rename to ??', [table + REBUILD, table]);
  // The shadow's serial default points at the live table's sequence; handing it over keeps it alive.
  for (const seq of sequences) {
    await trx.raw('alter sequence ?? owned by ??.??', [seq.sequence, seq.table, seq.column]);
  }
  try {
    await trx.raw(
      `drop table ${tables.map(() => '??').join(', ')}`,
      tables.map((table) => table + OLD),
    );
  } catch (error) {
    // 2BP01: something else (a view, say) depends on a live table. CASCADE would drop it silently; better that
    // the replay fails, rolled back, and says so.
    if ((error as { code?: string }).code === '2BP01') {
      throw new Error(
        `Cannot swap ${projection.name}: other objects depend on its tables (${(error as Error).message})`,
      );
    }
    throw error;
  }

  // Index names: the rebuilt index with the same definition takes the live index's name back. Renaming a
  // constraint's index (primary key, unique) renames the constraint too.
  const keyOf = (def: string) =>
    `${def.startsWith('CREATE UNIQUE') ? 'unique' : ''}${def.slice(def.indexOf(' USING '))}`;
  for (const table of tables) {
    const rebuilt = indexes.filter((row) => row.table === table + REBUILD);
    for (const live of indexes.filter((row) => row.table === table)) {
      const match = rebuilt.findIndex((row) => keyOf(row.def) === keyOf(live.def));
      if (match < 0) continue;
      const [twin] = rebuilt.splice(match, 1);
      if (twin!.index !== live.index) await trx.raw('alter index ?? rename to ??', [twin!.index, live.index]);
    }
  }
  // The definitions name tables, not oids: after the renames the same names mean the rebuilt tables.
  for (const fk of foreignKeys) await trx.raw(`alter table ?? add constraint ?? ${fk.def}`, [fk.table, fk.name]);
}
