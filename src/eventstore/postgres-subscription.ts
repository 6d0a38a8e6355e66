import type { Logger } from '../infra/logger.ts';
import type { EventStore, GlobalPosition, SubscribeOptions } from './port.ts';

const IDLE_POLL_MS = 500;
const MIN_INTERVAL_MS = 10;
// After a wake-up that found nothing new, the rows are usually held back by an older transaction still
// running; look again soon rather than waiting for the next notification, which may never come.
const RETRY_AFTER_WAKE_MS = [2, 5, 10, 25, 50, 100];

/** A wait that can be ended early. */
interface Delay {
  done: Promise<void>;
  end(): void;
}

function delay(ms: number): Delay {
  let end: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    end = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, end };
}

/**
 * Catch-up then live, for the Postgres adapter: read batches after the position until the reader is at the head,
 * then sleep until a NOTIFY or the idle poll, and read again. Batches are handed over one at a time.
 */
export class PostgresSubscription {
  private position: GlobalPosition | null;
  private stopped = false;
  /** The idle wait, which a wake-up ends. */
  private sleeping: Delay | null = null;
  /** The wait between two reads, which only stop() ends. */
  private pacing: Delay | null = null;
  private woken = false;
  private loop: Promise<void> | null = null;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  constructor(
    private readonly store: Pick<EventStore, 'readAll'>,
    private readonly options: SubscribeOptions,
    private readonly log: Logger,
    private readonly register: (wake: () => void) => () => void,
  ) {
    this.position = options.from;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  start(): void {
    const unregister = this.register(() => this.wake());
    this.loop = this.run()
      .catch((error) => {
        if (this.stopped) return;
        this.stopped = true;
        this.log.warn({ err: error }, 'subscription stopped by an error');
        this.options.onError?.(error);
        this.resolveDone();
      })
      .finally(unregister);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.pacing?.end();
    await this.loop;
  }

  private wake(): void {
    this.woken = true;
    this.sleeping?.end();
  }

  private async sleep(ms: number): Promise<void> {
    this.sleeping = delay(ms);
    await this.sleeping.done;
    this.sleeping = null;
  }

  /** Waits `ms` whatever wakes arrive meanwhile (they are remembered in `woken`); only stop() cuts it short. */
  private async pace(ms: number): Promise<void> {
    this.pacing = delay(ms);
    await this.pacing.done;
    this.pacing = null;
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 1000;
    const minInterval = this.options.minIntervalMs ?? MIN_INTERVAL_MS;
    let emptyAfterWake = 0;
    let lastRead = 0;
    let full = false;
    while (!this.stopped) {
      // Appends arrive hundreds a second under load, each a wake-up: reading on each would mean as many reads
      // of a few events. Behind by a full batch, read on at once.
      const gap = full ? 0 : lastRead + minInterval - Date.now();
      if (gap > 0) await this.pace(gap);
      if (this.stopped) return;
      this.woken = false;
      lastRead = Date.now();
      const events = await this.store.readAll(this.position, batchSize);
      full = events.length >= batchSize;
      if (this.stopped) return;
      if (events.length > 0) {
        emptyAfterWake = 0;
        await this.options.onEvents(events);
        this.position = events[events.length - 1]!.position;
        continue;
      }
      if (this.woken) continue;
      const retry = RETRY_AFTER_WAKE_MS[emptyAfterWake];
      if (retry !== undefined) emptyAfterWake++;
      await this.sleep(retry ?? IDLE_POLL_MS);
      if (this.woken) emptyAfterWake = 0;
    }
  }
}
