import type { RequestHandler, Response } from 'express';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../../infra/db.ts';
import { sendApiError } from './errors.ts';

/**
 * F15: at most `tps` requests a second per account per API (campaign, handoffs, reporting, webhooks: the first
 * path segment under the account), counted in Postgres so the limit holds across processes. Beyond it: 429
 * with Retry-After.
 */
export function apiRateLimit(
  db: Db,
  api: string,
  tps: number,
  refuse: (res: Response, code: string, message: string) => void = (res, code, message) =>
    sendApiError(res, 429, code, message),
): RequestHandler {
  if (!(tps > 0)) return (_req, _res, next) => next();
  const limiter = new RateLimiterPostgres({
    storeClient: db,
    storeType: 'knex',
    tableName: 'api_rate_limits',
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix: `api:${api}`,
    points: tps,
    duration: 1,
  });
  return async (req, res, next) => {
    try {
      const family = req.path.split('/')[1] || 'root';
      const result = await limiter.consume(`${String(req.params.accountId ?? 'unknown')}:${family}`, 1);
      res.set('X-RateLimit-Limit', String(tps));
      res.set('X-RateLimit-Remaining', String(result.remainingPoints));
      next();
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return next(rejection);
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      res.set('Retry-After', String(seconds));
      refuse(
        res,
        'TOO_MANY_REQUESTS',
        `More than ${tps} requests a second to the ${req.path.split('/')[1] || ''} API; retry after ${seconds} s.`,
      );
    }
  };
}
