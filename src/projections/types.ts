import type { Knex } from 'knex';
import type { GlobalPosition, RecordedEvent } from '../eventstore/port.ts';

export interface ProjectionContext {
  /**
   * The transaction that also advances the projection's checkpoint: write nothing outside it. A projection that
   * owns no tables (a reactor that only appends to the event store, idempotently) runs outside any transaction
   * and has none: a transaction held open while it appends would hide every event appended after it from every
   * reader until it ended (the store shows readers the rows below the oldest running transaction).
   */
  trx: Knex.Transaction;
  /**
   * The physical name of one of the projection's own tables: the live table, or its rebuild shadow during a
   * replay. Always write through it (`trx(table('users'))`), never with a hard-coded name.
   */
  table(name: string): string;
}

/**
 * A read model. `project` is handed a batch (only the types in `handles`, in global order, data already
 * validated against its schema) so that it can write multi-row statements; a replay of 200,000 events depends on
 * that. It must be idempotent: the same event applied twice leaves the same rows (key inserts on the event id or
 * the entity id with `on conflict`, make updates absolute rather than relative).
 */
export interface Projection {
  /** Unique, e.g. 'users'; it names the checkpoint row. */
  name: string;
  /** The read-model tables it owns, created by knex migrations. No other projection writes them. */
  tables: readonly string[];
  /** The event types it consumes. */
  handles: readonly string[];
  project(events: RecordedEvent[], ctx: ProjectionContext): Promise<void>;
}

/** The bookkeeping table (migrations/20261124_0001_core.ts), one row per projection. */
export const CHECKPOINTS = 'projection_checkpoints';

export interface CheckpointRow {
  name: string;
  commit_position: string | null;
  prepare_position: string | null;
}

/** numeric(20,0) columns come back from pg as strings; a position never travels through a JS number. */
export function checkpointPosition(row: CheckpointRow | undefined): GlobalPosition | null {
  if (!row || row.commit_position === null || row.prepare_position === null) return null;
  return { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
}

/** A `table()` for a projection that refuses names it does not own, so a wrong write fails in tests, not in a replay. */
export function tableMapper(projection: Projection, suffix = ''): (name: string) => string {
  const owned = new Set(projection.tables);
  return (name) => {
    if (!owned.has(name)) throw new Error(`Projection ${projection.name} does not own table ${name}`);
    return name + suffix;
  };
}
