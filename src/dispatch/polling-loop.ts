import type { Logger } from '../infra/logger.ts';

/**
 * Runs `round` over and over: again at once while it finds work, after `idleMs` when it found none. A failing
 * round is logged and the loop goes on. `stop` resolves once the round in flight has finished.
 */
export class PollingLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly round: () => Promise<number>,
    private readonly options: { idleMs: number; log: Logger; what: string },
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.round();
      } catch (error) {
        this.options.log.error({ err: error }, `${this.options.what} round failed`);
      }
      if (handled === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.idleMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
}
