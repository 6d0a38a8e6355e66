import type { Request } from 'express';
import { formatPosition, type GlobalPosition, parsePosition } from '../../eventstore/port.ts';
import type { Db } from '../../infra/db.ts';
import { waitForProjection } from '../../projections/wait.ts';

/** After a command, redirect with `?at=<position>` so the next page reads its own write. */
export function withPosition(path: string, position: GlobalPosition | null): string {
  if (!position) return path;
  return `${path}${path.includes('?') ? '&' : '?'}at=${encodeURIComponent(formatPosition(position))}`;
}

/** Waits (bounded) for the named projections to reach the position in `?at=`; a bad or missing value waits for nothing. */
export async function readYourWrites(db: Db, req: Request, projections: string[]): Promise<void> {
  const at = req.query.at;
  if (typeof at !== 'string') return;
  let position: GlobalPosition | null;
  try {
    position = parsePosition(at);
  } catch {
    return;
  }
  if (position) await waitForProjection(db, projections, position, { timeoutMs: 5000 });
}
