import cron, { type ScheduledTask } from 'node-cron';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';

export interface CronJob {
  name: string;
  /** node-cron expression; seconds allowed, e.g. every 5 seconds. */
  schedule: string;
  run(): Promise<void>;
}

/**
 * Runs periodic jobs (scheduled starts, stuck-send reconciliation, template polling). Each run takes a Postgres
 * advisory lock named after the job, so N worker processes run it once; a run still going when the next tick
 * comes is not started twice.
 */
export class CronScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  start(jobs: CronJob[]): void {
    for (const job of jobs) {
      const task = cron.schedule(job.schedule, () => void this.runOnce(job), { name: job.name, noOverlap: true });
      this.tasks.push(task);
    }
  }

  /** Runs the job now under its lock; false when another process holds it. */
  async runOnce(job: CronJob): Promise<boolean> {
    if (this.running.has(job.name)) return false;
    const run = this.db
      .transaction(async (trx) => {
        const { rows } = await trx.raw('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [`cron:${job.name}`]);
        if (!rows[0]?.locked) return false;
        await job.run();
        return true;
      })
      .catch((error) => {
        this.log.error({ err: error, job: job.name }, 'cron job failed');
        return false;
      });
    this.running.set(
      job.name,
      run.then(() => {}),
    );
    try {
      return await run;
    } finally {
      this.running.delete(job.name);
    }
  }

  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
    this.tasks.length = 0;
    await Promise.all(this.running.values());
  }
}
