import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../infra/db.ts';

/**
 * Send-rate limits shared by every worker process (DESIGN §4.4): each sender's own rate and the account's rate
 * per channel. The counters live in Postgres (rate-limiter-flexible), so N processes together keep the limit.
 * A rate of 0 means no limit and costs nothing.
 */
export interface RateLimitKey {
  accountId: string;
  channel: string;
  senderId: string;
  /** Messages per second; 0 = no limit. */
  senderRate: number;
  channelRate: number;
}

const TABLE = 'send_rate_limits';

export class SendRateLimiter {
  private readonly limiters = new Map<string, RateLimiterPostgres>();

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
    const limiter = this.limiterFor(rate);
    for (;;) {
      if (signal?.aborted) throw new Error('rate limit wait aborted');
      try {
        await limiter.consume(name, 1);
        return;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        await this.sleep(Math.max(5, rejection.msBeforeNext));
      }
    }
  }

  /**
   * A limiter per distinct rate. Whole rates allow `rate` messages a second; a fractional one, such as 0.5/s,
   * allows one message per 1/rate seconds.
   */
  private limiterFor(rate: number): RateLimiterPostgres {
    const cacheKey = String(rate);
    let limiter = this.limiters.get(cacheKey);
    if (!limiter) {
      const whole = rate >= 1;
      limiter = new RateLimiterPostgres({
        storeClient: this.db,
        storeType: 'knex',
        tableName: TABLE,
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: `r${cacheKey}`,
        points: whole ? Math.floor(rate) : 1,
        duration: whole ? 1 : Math.ceil(1 / rate),
      });
      this.limiters.set(cacheKey, limiter);
    }
    return limiter;
  }
}
