import {
  comparePositions,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
  type Subscription,
} from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { advanceCheckpoints, ensureCheckpoints } from './checkpoints.ts';
import { RetryPause } from './retry.ts';
import { readCheckpoints } from './wait.ts';

/** A projection as the shared feed drives it (ProjectionWorker in runner.ts). */
export interface FeedMember {
  readonly name: string;
  running: boolean;
  /** The last event it applied, as far as this process knows; the feed sets it from the stored checkpoint. */
  position: GlobalPosition | null;
  /** Applies its share of a batch; true when it had nothing to write (the feed then moves its checkpoint). */
  offer(events: RecordedEvent[]): Promise<boolean>;
  /** Its checkpoint moved to `position` past `count` events it does not handle. */
  advanced(count: number, position: GlobalPosition): void;
  /** It failed on a batch: it leaves the feed and goes on alone (backing off), or stops at the event. */
  leave(error: unknown): void;
}

/** How many projections write their part of one batch at once: each holds a connection meanwhile. */
const PARALLEL = 4;

/**
 * One reader of the store for all of a runner's projections: a batch is read once and handed to each member,
 * where there were as many subscriptions reading the same events as projections. Each member keeps its own
 * checkpoint and applies under its own lock (a replay swap or another process moving one checkpoint is seen
 * there); the feed starts at the oldest of them and each member skips what it already has. A member that fails
 * leaves the feed and is retried alone, so one broken projection never stalls the others.
 */
export class SharedFeed {
  private readonly members: Set<FeedMember>;
  private stopping = false;
  private subscription: Subscription | null = null;
  private loop: Promise<void> | null = null;
  private interrupt: (() => void) | null = null;
  private readonly pause: RetryPause;

  constructor(
    private readonly options: {
      store: EventStore;
      db: Db;
      log: Logger;
      batchSize: number;
      backoff?: { initialMs: number; maxMs: number };
    },
    members: FeedMember[],
  ) {
    this.members = new Set(members);
    // Its pauses speak for every projection it carries.
    const log = options.log.child({ projections: members.map((member) => member.name) });
    this.pause = new RetryPause(options.db, log, options.backoff);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt?.();
    this.pause.wake();
    await this.subscription?.stop();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { store, db, log, batchSize } = this.options;
    while (!this.stopping && this.members.size > 0) {
      try {
        // From the stored checkpoints, never from memory: after an error, or when another runner or a replay
        // moved one meanwhile, the database knows best.
        const names = [...this.members].map((member) => member.name);
        await ensureCheckpoints(db, names);
        const positions = await readCheckpoints(db, names);
        let from: GlobalPosition | null | undefined;
        for (const member of this.members) {
          member.position = positions.get(member.name) ?? null;
          if (from === undefined || comparePositions(member.position, from) < 0) from = member.position;
        }
        if (this.stopping) break;
        const subscription = store.subscribe({
          from: from ?? null,
          batchSize,
          onEvents: (events) => this.deliver(events),
          onError: (error) => log.error({ err: error }, 'shared projection feed failed'),
        });
        this.subscription = subscription;
        for (const member of this.members) member.running = true;
        await Promise.race([subscription.done, new Promise<void>((resolve) => (this.interrupt = resolve))]);
      } catch (error) {
        log.error({ err: error }, 'shared projection feed could not subscribe');
      }
      this.subscription = null;
      for (const member of this.members) member.running = false;
      if (this.stopping) break;
      await this.pause.after(() => this.stopping);
    }
  }

  private async deliver(events: RecordedEvent[]): Promise<void> {
    const idle: FeedMember[] = [];
    let outage: unknown = null;
    const queue = [...this.members];
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
        for (let member = queue.shift(); member; member = queue.shift()) {
          try {
            if (await member.offer(events)) idle.push(member);
          } catch (error) {
            // The database is gone: the feed as a whole waits for it, every member with it.
            if (!(await this.pause.databaseAnswers())) {
              outage = error;
              continue;
            }
            this.members.delete(member);
            member.leave(error);
          }
        }
      }),
    );
    if (outage) throw outage;
    const last = events[events.length - 1]!.position;
    // One statement for every idle member (one each cost a round trip per projection per batch). A row another
    // transaction holds (another runner applying that projection) is skipped rather than waited for with the
    // others' rows held: its holder moves it, and this member tries again with the next batch. A failure here
    // ends the subscription: the feed starts again from the stored checkpoints.
    const moved = await advanceCheckpoints(
      this.options.db,
      idle.map((member) => member.name),
      last,
    );
    for (const member of idle) if (moved.has(member.name)) member.advanced(events.length, last);
    this.pause.succeeded();
  }
}
