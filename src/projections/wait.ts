import { EventEmitter } from 'node:events';
import { comparePositions, type GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { CHECKPOINTS, type CheckpointRow, checkpointPosition } from './types.ts';

/** Poll interval: the fallback when the runner lives in another process (ROLE=web vs ROLE=worker). */
const POLL_MS = 20;

// A runner in this process announces each committed checkpoint, so a waiter here wakes at once instead of on
// the next poll. The database stays the only truth: a wake-up just triggers a re-read.
const checkpoints = new EventEmitter();
checkpoints.setMaxListeners(0);

/** Called by the runner and by replay after a checkpoint commit. */
export function announceCheckpoint(name: string): void {
  checkpoints.emit('committed', name);
}

/** The stored checkpoint of each named projection; a projection that never ran is at null (the start). */
export async function readCheckpoints(db: Db, names: readonly string[]): Promise<Map<string, GlobalPosition | null>> {
  const rows: CheckpointRow[] = await db(CHECKPOINTS)
    .select('name', 'commit_position', 'prepare_position')
    .whereIn('name', [...names]);
  const positions = new Map<string, GlobalPosition | null>(names.map((name) => [name, null]));
  for (const row of rows) positions.set(row.name, checkpointPosition(row));
  return positions;
}

/**
 * Read-your-writes: resolves true once every named projection has applied `position` (its checkpoint is at or
 * past it), false when `timeoutMs` runs out first. Callers render anyway on false, just possibly stale.
 */
export async function waitForProjection(
  db: Db,
  names: string | readonly string[],
  position: GlobalPosition,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<boolean> {
  const pending = new Set(typeof names === 'string' ? [names] : names);
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | null = null;
  // Set by a commit announced while the database was being read, so that it is not slept through.
  let announced = false;
  const onCommitted = (name: string) => {
    if (!pending.has(name)) return;
    announced = true;
    wake?.();
  };
  checkpoints.on('committed', onCommitted);
  try {
    while (pending.size > 0) {
      announced = false;
      for (const [name, reached] of await readCheckpoints(db, [...pending])) {
        if (comparePositions(reached, position) >= 0) pending.delete(name);
      }
      if (pending.size === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (announced) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(POLL_MS, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    return true;
  } finally {
    checkpoints.off('committed', onCommitted);
  }
}
