import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Db } from '../../infra/db.ts';
import { sendApiError } from './errors.ts';

const KEY_LIFETIME_HOURS = 24;
const SCOPE = 'api';

/** Same key and same body within 24 h: the first answer again and nothing new. Same key, other body: 422. */
export function idempotency(db: Db): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'POST') return next();
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    if (key.length === 0 || key.length > 255) {
      return sendApiError(res, 400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1 to 255 characters.', {
        field: 'Idempotency-Key',
      });
    }
    const accountId = req.params.accountId ?? '';
    const requestHash = createHash('sha256')
      .update(`${req.method} ${req.baseUrl}${req.path}\n${JSON.stringify(req.body ?? null)}`)
      .digest('hex');
    const where = { account_id: accountId, scope: SCOPE, key };
    await db('idempotency_keys')
      .where(where)
      .andWhere('created_at', '<', db.raw(`now() - interval '${KEY_LIFETIME_HOURS} hours'`))
      .delete();
    const inserted = await db('idempotency_keys')
      .insert({ ...where, request_hash: requestHash })
      .onConflict(['account_id', 'scope', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length === 0) {
      const existing = await db('idempotency_keys').where(where).first();
      if (!existing) return sendApiError(res, 409, 'IDEMPOTENCY_KEY_IN_USE', 'Retry this request in a moment.');
      if (existing.request_hash !== requestHash) {
        return sendApiError(
          res,
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was used with a different request. Use a new key for a new request.',
        );
      }
      if (existing.completed_at === null) {
        return sendApiError(
          res,
          409,
          'IDEMPOTENCY_KEY_IN_USE',
          'The first request with this Idempotency-Key is still running.',
        );
      }
      res.set('Idempotent-Replayed', 'true');
      return res.status(existing.response_status as number).json(existing.response_body);
    }
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const status = res.statusCode;
      // A server error is not an answer worth replaying: the client may retry with the same key.
      const stored =
        status >= 500
          ? db('idempotency_keys').where(where).delete()
          : db('idempotency_keys')
              .where(where)
              .update({
                response_status: status,
                response_body: JSON.stringify(body ?? null),
                completed_at: db.fn.now(),
              });
      stored.then(
        () => json(body),
        (error: unknown) => next(error),
      );
      return res;
    };
    res.on('close', () => {
      if (!res.writableEnded) void db('idempotency_keys').where(where).whereNull('completed_at').delete();
    });
    next();
  };
}
