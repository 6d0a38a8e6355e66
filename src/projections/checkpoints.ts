import type { Knex } from 'knex';
import type { GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { ProjectionHalt } from './runner.ts';
import { CHECKPOINTS, type CheckpointRow, checkpointPosition } from './types.ts';

/**
 * Moves a checkpoint forward past events the projection does not handle: only if it is behind, so that it never
 * goes back past what another runner (or a replay swap) already stored.
 */
export async function advanceCheckpoint(db: Db, name: string, position: GlobalPosition): Promise<void> {
  const commit = position.commit.toString();
  const prepare = position.prepare.toString();
  const updated = await db(CHECKPOINTS)
    .where({ name })
    .andWhere((behind) =>
      behind
        .whereNull('commit_position')
        .orWhereRaw('(commit_position, prepare_position) < (?::numeric, ?::numeric)', [commit, prepare]),
    )
    .update({ commit_position: commit, prepare_position: prepare, updated_at: db.fn.now() });
  if (updated === 0) {
    // First batch ever: the row may not exist yet.
    await db(CHECKPOINTS)
      .insert({ name, commit_position: commit, prepare_position: prepare })
      .onConflict('name')
      .ignore();
  }
}

/**
 * `advanceCheckpoint` for many projections in one statement (the shared feed's idle members after each batch),
 * answering the names now at or past `position`. A row another transaction holds (another runner applying that
 * projection) is skipped, not waited for: one held row must not stall the rest, and the skipped projection tries
 * again with the next batch. Rows must exist (`ensureCheckpoints`).
 */
export async function advanceCheckpoints(
  db: Db,
  names: readonly string[],
  position: GlobalPosition,
): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const commit = position.commit.toString();
  const prepare = position.prepare.toString();
  const result = await db.raw<{ rows: { name: string }[] }>(
    `with free as (
       select name, commit_position, prepare_position from ${CHECKPOINTS}
        where name = any(?::text[])
        for update skip locked
     ), moved as (
       update ${CHECKPOINTS} c set commit_position = ?::numeric, prepare_position = ?::numeric, updated_at = now()
         from free
        where c.name = free.name
          and (free.commit_position is null or (free.commit_position, free.prepare_position) < (?::numeric, ?::numeric))
     )
     select name from free`,
    [[...names], commit, prepare, commit, prepare],
  );
  return new Set(result.rows.map((row) => row.name));
}

/** Creates the missing checkpoint rows (at the start) of the named projections, in one statement. */
export async function ensureCheckpoints(db: Db, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await db(CHECKPOINTS)
    .insert(names.map((name) => ({ name })))
    .onConflict('name')
    .ignore();
}

/**
 * Locks the projection's checkpoint row for the rest of the transaction (creating it at the start when missing)
 * and returns the stored position. Every writer of a projection's tables goes through this lock first.
 */
export async function lockCheckpoint(trx: Knex.Transaction, name: string): Promise<GlobalPosition | null> {
  const select = () =>
    trx(CHECKPOINTS)
      .select('name', 'commit_position', 'prepare_position')
      .where({ name })
      .forUpdate()
      .first() as Promise<CheckpointRow | undefined>;
  let row = await select();
  if (!row) {
    // First batch ever: create the row to lock. A concurrent creator wins harmlessly (on conflict do nothing).
    await trx(CHECKPOINTS).insert({ name }).onConflict('name').ignore();
    row = await select();
  }
  return checkpointPosition(row);
}

/**
 * `lockCheckpoint` for many projections at once (the shared feed's one transaction per batch): their rows locked
 * in name order, so that two runners locking overlapping sets never wait for each other in a circle. Rows must
 * exist (`ensureCheckpoints`).
 */
export async function lockCheckpoints(
  trx: Knex.Transaction,
  names: readonly string[],
): Promise<Map<string, GlobalPosition | null>> {
  const rows: CheckpointRow[] = await trx(CHECKPOINTS)
    .select('name', 'commit_position', 'prepare_position')
    .whereIn('name', [...names])
    .orderBy('name')
    .forUpdate();
  const positions = new Map<string, GlobalPosition | null>(names.map((name) => [name, null]));
  for (const row of rows) positions.set(row.name, checkpointPosition(row));
  return positions;
}

/** `saveCheckpoint` for many projections in one statement, each to its own position. */
export async function saveCheckpoints(
  trx: Knex.Transaction,
  positions: readonly { name: string; position: GlobalPosition }[],
): Promise<void> {
  if (positions.length === 0) return;
  await trx.raw(
    `update ${CHECKPOINTS} c
        set commit_position = v.commit_position, prepare_position = v.prepare_position, updated_at = now()
       from unnest(?::text[], ?::numeric[], ?::numeric[]) as v(name, commit_position, prepare_position)
      where c.name = v.name`,
    [
      positions.map((one) => one.name),
      positions.map((one) => one.position.commit.toString()),
      positions.map((one) => one.position.prepare.toString()),
    ],
  );
}

export async function saveCheckpoint(trx: Knex.Transaction, name: string, position: GlobalPosition): Promise<void> {
  await trx(CHECKPOINTS).where({ name }).update({
    commit_position: position.commit.toString(),
    prepare_position: position.prepare.toString(),
    updated_at: trx.fn.now(),
  });
}

/** Records where a projection stopped (null: it runs again), beside its checkpoint. */
export async function recordHalt(db: Db, name: string, halt: ProjectionHalt | null): Promise<void> {
  const columns = halt
    ? { halted_at: halt.at, halted_event: JSON.stringify(halt), halted_error: halt.error }
    : { halted_at: null, halted_event: null, halted_error: null };
  const updated = await db(CHECKPOINTS).where({ name }).update(columns);
  if (updated === 0 && halt)
    await db(CHECKPOINTS)
      .insert({ name, ...columns })
      .onConflict('name')
      .merge(columns);
}

/** The stopped projections among `names`, from any process (a web process runs none itself). */
export async function readHalts(db: Db, names: readonly string[]): Promise<Map<string, ProjectionHalt>> {
  const rows: { name: string; halted_event: ProjectionHalt }[] = await db(CHECKPOINTS)
    .whereIn('name', [...names])
    .whereNotNull('halted_at')
    .select('name', 'halted_event');
  return new Map(rows.map((row) => [row.name, row.halted_event]));
}
