import type { Logger } from '../infra/logger.ts';
import type { EventStore, GlobalPosition, SubscribeOptions } from './port.ts';

const IDLE_POLL_MS = 500;
// After a wake-up that found nothing new, the rows are usually held back by an older transaction still
// running; look again soon rather than waiting for the next notification, which may never come.
const RETRY_AFTER_WAKE_MS = [2, 5, 10, 25, 50, 100];

/**
 * Catch-up then live, for the Postgres adapter: read batches after the position until the reader is at the head,
 * then sleep until a NOTIFY or the idle poll, and read again. Batches are handed over one at a time.
 */
export class PostgresSubscription {
  private position: GlobalPosition | null;
  private stopped = false;
  private sleeping: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
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
    await this.loop;
  }

  private wake(): void {
    this.woken = true;
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.resolve();
      this.sleeping = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = null;
        resolve();
      }, ms);
      this.sleeping = { timer, resolve };
    });
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 1000;
    let emptyAfterWake = 0;
    while (!this.stopped) {
      this.woken = false;
      const events = await this.store.readAll(this.position, batchSize);
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
