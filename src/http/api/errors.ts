import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

declare global {
  namespace Express {
    interface Request {
      requestTraceId?: string;
    }
  }
}

/** Every API answer can be traced: the id is in the `X-Request-Id` header and in every error body. */
export const requestTrace: RequestHandler = (req, res, next) => {
  if (req.requestTraceId) return next();
  const incoming = req.get('x-request-id');
  req.requestTraceId = incoming && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
  res.set('X-Request-Id', req.requestTraceId);
  next();
};

/** The API's error body: `{code, message, requestTraceId}` (plus `field` when one input is at fault). */
export function sendApiError(
  res: Response,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  res.status(status).json({ code, message, requestTraceId: res.req.requestTraceId ?? null, ...extra });
}
