import type { Knex } from 'knex';
import {
  comparePositions,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
  type Subscription,
} from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { advanceCheckpoints, ensureCheckpoints, lockCheckpoints, saveCheckpoints } from './checkpoints.ts';
import { RetryPause } from './retry.ts';
import { readCheckpoints } from './wait.ts';

/**
 * A member's part of one batch, for a feed that writes a batch in one transaction: `null` when it already has
 * every event, `idle` when it has nothing to write (only its checkpoint moves).
 */
export type FeedShare =
  | null
  | { idle: true }
  | {
      idle: false;
      /**
       * Writes the events past `stored` (its checkpoint, locked) in the feed's transaction; answers how far it
       * got, or null when it had them all. Its stop (an event it cannot apply) comes after the commit.
       */
      write(
        trx: Knex.Transaction,
        stored: GlobalPosition | null,
      ): Promise<{ count: number; position: GlobalPosition } | null>;
      failure: Error | null;
    };

/** A projection as the shared feed drives it (ProjectionWorker in runner.ts). */
export interface FeedMember {
  readonly name: string;
  running: boolean;
  /** The last event it applied, as far as this process knows; the feed sets it from the stored checkpoint. */
  position: GlobalPosition | null;
  /** Applies its share of a batch on its own; true when it had nothing to write (the feed moves its checkpoint). */
  offer(events: RecordedEvent[]): Promise<boolean>;
  /** Its share of a batch, for a feed that writes the batch in one transaction. */
  share(events: RecordedEvent[]): FeedShare;
  /** Its share was committed up to `position`. */
  committed(count: number, position: GlobalPosition): void;
  /** Its checkpoint moved to `position` past `count` events it does not handle. */
  advanced(count: number, position: GlobalPosition): void;
  /** It failed on a batch: it leaves the feed and goes on alone (backing off), or stops at the event. */
  leave(error: unknown): void;
}

/** How many projections write their part of one batch at once, in a feed where each has its own transaction. */
const PARALLEL = 4;

/** A member's write failed inside the shared transaction: it leaves, the others try the batch again without it. */
class MemberFailed extends Error {
  constructor(
    readonly member: FeedMember,
    override readonly cause: unknown,
  ) {
    super(`projection ${member.name} failed`);
  }
}

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
      /**
       * One transaction per batch for every member that writes (read models), where each member otherwise has
       * its own (reactors that own no tables run outside any).
       */
      together: boolean;
      /** The least time between its reads of the store (SubscribeOptions.minIntervalMs). */
      minIntervalMs?: number;
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
          minIntervalMs: this.options.minIntervalMs,
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

  private deliver(events: RecordedEvent[]): Promise<void> {
    return this.options.together ? this.deliverTogether(events) : this.deliverEach(events);
  }

  /**
   * The batch in one transaction: every writing member's checkpoint locked in one statement, each member's
   * share written, every checkpoint saved in one statement, one commit (a transaction per member per batch cost
   * four round trips each). A member that fails leaves the feed and the rest try the batch again without it, so
   * one broken projection costs the others one retry, never their progress.
   */
  private async deliverTogether(events: RecordedEvent[]): Promise<void> {
    for (;;) {
      const idle: FeedMember[] = [];
      const writers: { member: FeedMember; write: Extract<FeedShare, { idle: false }> }[] = [];
      for (const member of this.members) {
        const share = member.share(events);
        if (share === null) continue;
        if (share.idle) idle.push(member);
        else writers.push({ member, write: share });
      }
      let done: { member: FeedMember; count: number; position: GlobalPosition }[];
      try {
        done = writers.length === 0 ? [] : await this.writeTogether(writers);
      } catch (error) {
        if (!(error instanceof MemberFailed)) throw error;
        // The database is gone: the feed as a whole waits for it, every member with it.
        if (!(await this.pause.databaseAnswers())) throw error.cause;
        this.members.delete(error.member);
        error.member.leave(error.cause);
        continue;
      }
      for (const { member, count, position } of done) member.committed(count, position);
      for (const { member, write } of writers) {
        if (!write.failure) continue;
        this.members.delete(member);
        member.leave(write.failure);
      }
      await this.advanceIdle(idle, events);
      return;
    }
  }

  private writeTogether(
    writers: { member: FeedMember; write: Extract<FeedShare, { idle: false }> }[],
  ): Promise<{ member: FeedMember; count: number; position: GlobalPosition }[]> {
    return this.options.db.transaction(async (trx) => {
      const stored = await lockCheckpoints(
        trx,
        writers.map(({ member }) => member.name),
      );
      const done: { member: FeedMember; count: number; position: GlobalPosition }[] = [];
      for (const { member, write } of writers) {
        let applied: { count: number; position: GlobalPosition } | null;
        try {
          applied = await write.write(trx, stored.get(member.name) ?? null);
        } catch (error) {
          throw new MemberFailed(member, error);
        }
        if (applied) done.push({ member, ...applied });
      }
      await saveCheckpoints(
        trx,
        done.map(({ member, position }) => ({ name: member.name, position })),
      );
      return done;
    });
  }

  private async deliverEach(events: RecordedEvent[]): Promise<void> {
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
    await this.advanceIdle(idle, events);
  }

  private async advanceIdle(idle: FeedMember[], events: RecordedEvent[]): Promise<void> {
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
