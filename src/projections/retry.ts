import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';

/** How often a projection probes a database that does not answer. */
const PROBE_MS = 200;

/**
 * The pause after a failed subscription (a projection's own, or the shared feed's): while the database does not
 * answer (an outage), probe it cheaply and go on as soon as it does, so projections are back within a probe of
 * the database; any other failure (a bug, a bad migration) backs off, doubling up to `maxMs`. `wake` cuts a pause
 * short (a stop).
 */
export class RetryPause {
  private failures = 0;
  private interrupt: (() => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly backoff: { initialMs: number; maxMs: number } = { initialMs: 250, maxMs: 30_000 },
  ) {}

  /** A batch went through: the next failure starts the doubling again. */
  succeeded(): void {
    this.failures = 0;
  }

  wake(): void {
    this.interrupt?.();
  }

  async after(stopping: () => boolean): Promise<void> {
    if (!(await this.databaseAnswers())) {
      this.log.warn('database unreachable: the projection resubscribes as soon as it answers');
      while (!stopping() && !(await this.databaseAnswers())) await this.pause(PROBE_MS);
      this.failures = 0;
      return;
    }
    const { initialMs, maxMs } = this.backoff;
    const delay = Math.min(maxMs, initialMs * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.failures += 1;
    this.log.warn(
      { delayMs: Math.round(delay), failures: this.failures },
      'projection backing off before resubscribing',
    );
    await this.pause(delay);
  }

  async databaseAnswers(): Promise<boolean> {
    try {
      await this.db.raw('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Waits `ms`, or less when woken. */
  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
