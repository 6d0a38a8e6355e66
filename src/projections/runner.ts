import type { Knex } from 'knex';
import {
  comparePositions,
  type EventStore,
  formatPosition,
  type GlobalPosition,
  type RecordedEvent,
  type Subscription,
} from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { advanceCheckpoint, lockCheckpoint, readHalts, recordHalt, saveCheckpoint } from './checkpoints.ts';
import { type FeedMember, type FeedShare, SharedFeed } from './feed.ts';
import { projectable, UnprojectableEventError } from './projectable.ts';
import { RetryPause } from './retry.ts';
import { type Projection, tableMapper } from './types.ts';
import { announceCheckpoint, readCheckpoints } from './wait.ts';

export interface ProjectionRunnerOptions {
  store: EventStore;
  db: Db;
  projections: readonly Projection[];
  log: Logger;
  /** Upper bound on the events applied in one transaction. */
  batchSize?: number;
  /** Called after each committed batch with the events consumed (handled or not); the composition root feeds metrics. */
  onBatch?: (name: string, count: number, position: GlobalPosition) => void;
  /** Called when a projection stops at an event it cannot apply (and with null when it starts again). */
  onHalt?: (name: string, halt: ProjectionHalt | null) => void;
  /** Retry delays after a failure: doubling from `initialMs` up to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
}

export interface ProjectionStatus {
  name: string;
  /** The stored checkpoint: the last event applied, null when nothing was yet. */
  position: GlobalPosition | null;
  /** At or past the head of the store as it was when asked. */
  caughtUp: boolean;
  /** False while stopped or backing off after an error. */
  running: boolean;
  /** Set when it stopped at an event it cannot apply; it stays stopped until the process restarts. */
  halted: ProjectionHalt | null;
}

/** Where a projection stopped, and why. */
export interface ProjectionHalt {
  eventId: string;
  type: string;
  streamId: string;
  position: string;
  error: string;
  at: string;
}

/**
 * Runs the projections as background subscriptions on the event store.
 *
 * One shared feed (src/projections/feed.ts) reads the store once per batch for all of them, where a subscription
 * per projection read every event once per projection; a second feed carries the reactors that own no tables.
 * What separate subscriptions gave is kept: each projection has its own checkpoint (the feed starts at the oldest
 * and each skips what it has), a projection that fails (a bug, a bad migration) leaves the feed and is retried
 * alone on its own subscription instead of stalling the others, and a replay swap moves one checkpoint without
 * touching the rest.
 *
 * Exactly once: a batch is applied in one transaction (one for all the read models of the feed) that first locks
 * the checkpoint rows, drops the events at or before each, then writes the read models and the new checkpoints.
 * A second runner (another process) or a replay swap holding one of those row locks is therefore waited for, and
 * whatever it applied is skipped. The reactors that own no tables take no lock: what they do is idempotent.
 */
export class ProjectionRunner {
  private readonly workers: ProjectionWorker[];
  private feeds: SharedFeed[] = [];

  constructor(private readonly options: ProjectionRunnerOptions) {
    const names = new Set<string>();
    for (const projection of options.projections) {
      if (names.has(projection.name)) throw new Error(`Two projections are named ${projection.name}`);
      names.add(projection.name);
    }
    this.workers = options.projections.map((projection) => new ProjectionWorker(projection, options));
  }

  /**
   * Starts the shared feed from the stored checkpoints and returns at once; projections catch up in the
   * background. A start (the process restarted, the cause presumably fixed) first clears every recorded stop, so
   * a halted projection tries again the event it stopped at.
   */
  async start(): Promise<void> {
    if (this.feeds.length > 0) return;
    const { store, db, log, batchSize = 500, backoff } = this.options;
    // Reactors that own no tables (the campaign expander, whose one event can mean 10,000 appends) read on a
    // feed of their own: the read models' feed goes on meanwhile, and takes in what they append as it lands.
    const groups = [
      this.workers.filter((worker) => worker.projection.tables.length > 0),
      this.workers.filter((worker) => worker.projection.tables.length === 0),
    ].filter((group) => group.length > 0);
    this.feeds = groups.map(
      (group) =>
        new SharedFeed(
          group[0]!.projection.tables.length > 0
            ? { store, db, log, batchSize, backoff, together: true }
            : // Its events are rare (a campaign started or cancelled), and a tenth of a second is nothing to them.
              { store, db, log, batchSize, backoff, together: false, minIntervalMs: 100 },
          group,
        ),
    );
    const feeds = this.feeds;
    void Promise.all(this.workers.map((worker) => worker.starting())).then(() => {
      for (const feed of feeds) feed.start();
    });
  }

  /** Graceful: each in-flight batch finishes (and commits) before this resolves. */
  async stop(): Promise<void> {
    await Promise.all(this.feeds.map((feed) => feed.stop()));
    this.feeds = [];
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  /** For /readyz and metrics: each projection's stored position against the head of the store. */
  async status(): Promise<ProjectionStatus[]> {
    const head = await this.options.store.headPosition();
    const names = this.workers.map((worker) => worker.projection.name);
    const positions = await readCheckpoints(this.options.db, names);
    const halts = await readHalts(this.options.db, names);
    return this.workers.map((worker) => {
      const position = positions.get(worker.projection.name) ?? null;
      return {
        name: worker.projection.name,
        position,
        caughtUp: comparePositions(position, head) >= 0,
        running: worker.running,
        halted: halts.get(worker.projection.name) ?? null,
      };
    });
  }
}

/**
 * One projection: a member of the runner's shared feed (`offer`) until it fails on a batch, then alone on its own
 * subscription (`run`), backing off between failures, until the process stops.
 */
class ProjectionWorker implements FeedMember {
  running = false;
  position: GlobalPosition | null = null;
  private stopping = false;
  private subscription: Subscription | null = null;
  private loop: Promise<void> | null = null;
  private interrupt: (() => void) | null = null;
  private readonly pause: RetryPause;
  private readonly log: Logger;
  private readonly table: (name: string) => string;

  constructor(
    readonly projection: Projection,
    private readonly options: ProjectionRunnerOptions,
  ) {
    this.log = options.log.child({ projection: projection.name });
    this.table = tableMapper(projection);
    this.pause = new RetryPause(options.db, this.log, options.backoff);
  }

  get name(): string {
    return this.projection.name;
  }

  /** The runner starts: the worker runs again, and its recorded stop (if any) is cleared. */
  async starting(): Promise<void> {
    this.stopping = false;
    try {
      await recordHalt(this.options.db, this.projection.name, null);
      this.options.onHalt?.(this.projection.name, null);
    } catch (error) {
      this.log.error({ err: error }, 'projection could not clear its stop');
    }
  }

  async offer(batch: RecordedEvent[]): Promise<boolean> {
    const position = this.position;
    const fresh = position === null ? batch : batch.filter((event) => comparePositions(event.position, position) > 0);
    if (fresh.length === 0) return false;
    const { consumed, handled, failure } = projectable(this.projection, fresh);
    if (!failure && handled.length === 0) return true;
    if (consumed.length > 0) await this.apply(consumed, handled);
    if (failure) throw failure;
    return false;
  }

  share(batch: RecordedEvent[]): FeedShare {
    const position = this.position;
    const fresh = position === null ? batch : batch.filter((event) => comparePositions(event.position, position) > 0);
    if (fresh.length === 0) return null;
    const { consumed, handled, failure } = projectable(this.projection, fresh);
    if (!failure && handled.length === 0) return { idle: true };
    return {
      idle: false,
      failure,
      write: async (trx, stored) => {
        // What comes before an unprojectable event is applied; the failure stops this projection after the commit.
        const mine = consumed.filter((event) => comparePositions(event.position, stored) > 0);
        if (mine.length === 0) return null;
        const writes = handled.filter((event) => comparePositions(event.position, stored) > 0);
        if (writes.length > 0) await this.projection.project(writes, { trx, table: this.table });
        return { count: mine.length, position: mine[mine.length - 1]!.position };
      },
    };
  }

  committed(count: number, position: GlobalPosition): void {
    this.pause.succeeded();
    this.advanced(count, position);
  }

  advanced(count: number, position: GlobalPosition): void {
    this.position = position;
    announceCheckpoint(this.projection.name);
    this.options.onBatch?.(this.projection.name, count, position);
  }

  leave(error: unknown): void {
    this.running = false;
    if (this.stopping) return;
    if (error instanceof UnprojectableEventError) {
      this.loop = this.halt(error);
      return;
    }
    this.log.error({ err: error }, 'projection failed in the shared feed; it goes on alone');
    this.loop = this.pause.after(() => this.stopping).then(() => this.run());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt?.();
    this.pause.wake();
    await this.subscription?.stop();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    const { store, db, batchSize = 500 } = this.options;
    while (!this.stopping) {
      let failure: unknown = null;
      try {
        // Always from the stored checkpoint, never from memory: after an error, or when another runner or a
        // replay moved it meanwhile, the database knows best.
        const from = (await readCheckpoints(db, [this.projection.name])).get(this.projection.name) ?? null;
        if (this.stopping) break;
        const subscription = store.subscribe({
          from,
          batchSize,
          onEvents: (events) => this.applyBatch(events),
          onError: (error) => {
            failure = error;
            if (!(error instanceof UnprojectableEventError)) {
              this.log.error({ err: error }, 'projection subscription failed');
            }
          },
        });
        this.subscription = subscription;
        this.running = true;
        this.log.debug({ from: formatPosition(from) }, 'projection subscribed');
        await Promise.race([subscription.done, new Promise<void>((resolve) => (this.interrupt = resolve))]);
      } catch (error) {
        this.log.error({ err: error }, 'projection could not subscribe');
      }
      this.running = false;
      this.subscription = null;
      if (failure instanceof UnprojectableEventError) {
        await this.halt(failure);
        break;
      }
      if (this.stopping) break;
      await this.pause.after(() => this.stopping);
    }
  }

  /** Stops here: the other projections go on; this one waits at the event for a restart. */
  private async halt(failure: UnprojectableEventError): Promise<void> {
    const halt: ProjectionHalt = {
      eventId: failure.event.id,
      type: failure.event.type,
      streamId: failure.event.streamId,
      position: formatPosition(failure.event.position),
      error: failure.reason,
      at: new Date().toISOString(),
    };
    this.log.error(
      { ...halt, projection: this.projection.name },
      'projection stopped: an event it cannot apply; fix the cause and restart to resume at that event',
    );
    this.options.onHalt?.(this.projection.name, halt);
    for (let attempt = 1; ; attempt++) {
      try {
        await recordHalt(this.options.db, this.projection.name, halt);
        return;
      } catch (error) {
        if (attempt >= 3 || this.stopping) {
          this.log.error({ err: error }, 'projection could not record its stop');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private async applyBatch(batch: RecordedEvent[]): Promise<void> {
    const { consumed: events, handled, failure } = projectable(this.projection, batch);
    // What comes before an unprojectable event is applied; the failure then ends the subscription.
    if (events.length > 0) await this.apply(events, handled);
    if (failure) throw failure;
  }

  private async apply(events: readonly RecordedEvent[], handled: RecordedEvent[]): Promise<void> {
    const last = events[events.length - 1]!.position;
    let applied: { count: number; position: GlobalPosition } | null;
    if (this.projection.tables.length === 0 && handled.length > 0) {
      // A reactor that owns no tables (the campaign expander appending 10,000 messages): outside a transaction,
      // then its checkpoint. It is idempotent, so another runner doing the same batch meanwhile is harmless.
      const stored = (await readCheckpoints(this.options.db, [this.projection.name])).get(this.projection.name) ?? null;
      const mine = handled.filter((event) => comparePositions(event.position, stored) > 0);
      if (mine.length > 0)
        await this.projection.project(mine, { trx: noTransaction(this.projection), table: this.table });
      await advanceCheckpoint(this.options.db, this.projection.name, last);
      applied = { count: events.length, position: last };
    } else if (handled.length === 0) {
      // Nothing to write: the checkpoint only moves forward, in one statement, without the row lock that guards
      // read-model writes (most batches of most projections are other projections' events).
      await advanceCheckpoint(this.options.db, this.projection.name, last);
      applied = { count: events.length, position: last };
    } else {
      applied = await this.options.db.transaction(async (trx) => {
        const stored = await lockCheckpoint(trx, this.projection.name);
        const fresh = events.filter((event) => comparePositions(event.position, stored) > 0);
        if (fresh.length === 0) return null;
        const mine = handled.filter((event) => comparePositions(event.position, stored) > 0);
        if (mine.length > 0) await this.projection.project(mine, { trx, table: this.table });
        await saveCheckpoint(trx, this.projection.name, last);
        return { count: fresh.length, position: last };
      });
    }
    this.pause.succeeded();
    this.position = last;
    if (!applied) return;
    announceCheckpoint(this.projection.name);
    this.options.onBatch?.(this.projection.name, applied.count, applied.position);
  }
}

/** The `trx` of a projection that owns no tables: there is none, and using it is a bug that fails at once. */
function noTransaction(projection: Projection): Knex.Transaction {
  const refuse = () => {
    throw new Error(`Projection ${projection.name} owns no tables and runs outside a transaction`);
  };
  return new Proxy(refuse as unknown as Knex.Transaction, {
    get: refuse,
    apply: refuse,
  });
}

export { handledEvents, projectable, UnprojectableEventError } from './projectable.ts';
export { advanceCheckpoint, lockCheckpoint, readHalts, recordHalt, saveCheckpoint };
