import { projections } from '../../projections/index.ts';
import type { AppContext } from '../app/context.ts';
import type { DomainEvent } from '../domain/decider.ts';
import type { GlobalPosition } from '../eventstore/port.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import { waitForProjection } from '../projections/wait.ts';

export interface Settled {
  /** The read models that show the write. */
  projections: string[];
  /** Those that had not applied it when the wait ran out. */
  behind: string[];
  /** Stops the projections the CLI ran; a batch in flight (held up by another process's lock) finishes first. */
  close(): Promise<void>;
}

/**
 * Read-your-writes for the command line: a provisioning script calls the app the moment the CLI returns, so the
 * CLI returns only once every read model that shows its write has applied it. It does not trust a running app
 * to get there: it runs those projections itself, with the same runner, until they reach the write. With an app
 * running, whichever process takes a projection's checkpoint lock first applies the events, and the other skips
 * them (exactly once, see ProjectionRunner); without one, the read models are ready when the app starts.
 */
export async function settleReadModels(
  app: Omit<AppContext, 'runner'>,
  written: { events: readonly DomainEvent[]; position: GlobalPosition | null },
  { timeoutMs }: { timeoutMs: number },
): Promise<Settled> {
  const nothing = async () => {};
  if (written.position === null || written.events.length === 0) return { projections: [], behind: [], close: nothing };
  const types = new Set(written.events.map((event) => event.type));
  const showing = projections.filter((projection) => projection.handles.some((type) => types.has(type)));
  const names = showing.map((projection) => projection.name);
  if (showing.length === 0) return { projections: names, behind: [], close: nothing };
  if (timeoutMs <= 0) {
    // Asked not to wait: say which have not got there on their own, without helping them.
    const behind: string[] = [];
    for (const name of names) {
      if (!(await waitForProjection(app.db, name, written.position, { timeoutMs: 0 }))) behind.push(name);
    }
    return { projections: names, behind, close: nothing };
  }
  const runner = new ProjectionRunner({ store: app.store, db: app.db, projections: showing, log: app.log });
  await runner.start();
  const behind: string[] = [];
  try {
    const deadline = Date.now() + timeoutMs;
    for (const name of names) {
      const left = Math.max(0, deadline - Date.now());
      if (!(await waitForProjection(app.db, name, written.position, { timeoutMs: left }))) behind.push(name);
    }
  } catch (error) {
    await runner.stop();
    throw error;
  }
  // Stopping is left to the caller, after it has answered: a batch blocked behind another process's lock must not
  // hold back the answer past the bound.
  return { projections: names, behind, close: () => runner.stop() };
}
