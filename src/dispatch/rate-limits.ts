import type { Db } from '../infra/db.ts';

/**
 * Send-rate limits shared by every worker process (DESIGN §4.4): each sender's own rate and the account's rate
 * per channel. A rate of 0 means no limit and costs nothing.
 */
export interface RateLimitKey {
  accountId: string;
  channel: string;
  senderId: string;
  /** Messages per second; 0 = no limit. */
  senderRate: number;
  channelRate: number;
}

/**
 * Sends at a rate are paced, not counted in windows: a counter per fixed second lets a burst at the end of one
 * window and another at the start of the next put twice the rate into one second at the provider. Here each key
 * has one row in Postgres holding when its next send may go; a send takes the next slot (one statement, shared by
 * every worker) and waits for it, so sends are at least one period apart whichever process makes them. The
 * period is 10% longer than 1/rate: a send reaches the provider a little early or late (network, a busy event
 * loop), and the margin keeps every second counted at the provider at or under the rate.
 */
export const PACING_MARGIN = 1.1;

export class SendRateLimiter {
  constructor(
    private readonly db: Db,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Waits until both limits allow one more message, then takes it. */
  async acquire(key: RateLimitKey, signal?: AbortSignal): Promise<void> {
    await this.take(`sender:${key.accountId}:${key.senderId}`, key.senderRate, signal);
    await this.take(`channel:${key.accountId}:${key.channel}`, key.channelRate, signal);
  }

  private async take(name: string, rate: number, signal?: AbortSignal): Promise<void> {
    if (!(rate > 0)) return;
    if (signal?.aborted) throw new Error('rate limit wait aborted');
    const periodMs = (1000 * PACING_MARGIN) / rate;
    // The slot taken is the row's time (or now, when that passed), and the row moves one period past it; the
    // wait is measured by the database's clock, the only one every worker shares.
    const { rows } = await this.db.raw(
      `insert into send_rate_pacing as p (key, next_at) values (?, clock_timestamp() + ? * interval '1 millisecond')
       on conflict (key) do update
         set next_at = greatest(p.next_at, clock_timestamp()) + ? * interval '1 millisecond'
       returning extract(epoch from (p.next_at - clock_timestamp())) * 1000 - ? as wait_ms`,
      [name, periodMs, periodMs, periodMs],
    );
    const waitMs = Number(rows[0].wait_ms);
    if (waitMs > 0) await this.sleep(waitMs);
    if (signal?.aborted) throw new Error('rate limit wait aborted');
  }
}
