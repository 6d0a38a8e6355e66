import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { replayProjection } from '../projections/replay.ts';
import type { Projection } from '../projections/types.ts';

export interface ReplayState {
  name: string;
  status: 'running' | 'done' | 'failed';
  events: number;
  startedAt: Date;
  message: string | null;
}

/**
 * Read-model rebuilds an admin starts from the web tool, run in the background while the app keeps serving,
 * with their progress. They are this process's own (the CLI's are its own), kept until the process ends.
 */
export class ReplayJobs {
  private readonly jobs = new Map<string, ReplayState>();

  constructor(private readonly deps: { db: Db; store: EventStore; log: Logger }) {}

  list(): ReplayState[] {
    return [...this.jobs.values()];
  }

  start(projection: Projection): ReplayState {
    const name = projection.name;
    if (this.jobs.get(name)?.status === 'running') {
      throw new DomainError('REPLAY_RUNNING', `${name} is being rebuilt already.`);
    }
    const state: ReplayState = { name, status: 'running', events: 0, startedAt: new Date(), message: null };
    this.jobs.set(name, state);
    void replayProjection(this.deps.db, this.deps.store, projection, {
      log: this.deps.log,
      onProgress: (events: number) => {
        state.events = events;
      },
    }).then(
      (result) => {
        state.status = 'done';
        state.events = result.events;
        state.message = `${result.events.toLocaleString('en-US')} events in ${result.ms} ms`;
      },
      (error: unknown) => {
        state.status = 'failed';
        state.message = error instanceof Error ? error.message : String(error);
        this.deps.log.error({ err: error, projection: name }, 'replay from the web tool failed');
      },
    );
    return state;
  }
}
