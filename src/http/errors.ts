import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { DomainError } from '../domain/decider.ts';
import { WrongExpectedVersionError } from '../eventstore/port.ts';
import type { Logger } from '../infra/logger.ts';
import { httpStatus } from './domain-statuses.ts';

/** The API's paths (ours and LivePerson's, Sentinel's token call included) answer JSON, whatever they are sent. */
export function wantsJson(req: Parameters<RequestHandler>[0]): boolean {
  return ['/api/', '/oauth/', '/sentinel/'].some((prefix) => req.path.startsWith(prefix)) || !req.accepts('html');
}

/** A request htmx made (a partial, a poll, a boosted form): its errors are a fragment, never a whole page. */
export function isHtmx(req: Request): boolean {
  return req.get('hx-request') === 'true';
}

/**
 * Every error page of the web tool. For htmx the answer is a small `role=alert` fragment that public/app.js
 * shows beside what the user was working on (htmx does not swap error answers); otherwise the full error page.
 */
export function renderError(
  req: Request,
  res: Response,
  status: number,
  error: { title: string; message: string; code?: string },
): void {
  res.status(status).render(isHtmx(req) ? 'errors/_alert' : 'errors/error', error);
}

export const notFound: RequestHandler = (req, res) => {
  if (wantsJson(req)) {
    res.status(404).json({
      code: 'NOT_FOUND',
      message: `No route for ${req.method} ${req.path}`,
      requestTraceId: req.requestTraceId ?? null,
    });
    return;
  }
  renderError(req, res, 404, { title: 'Page not found', message: 'There is no page at this address.' });
};

/** Domain errors become 4xx with their stable code; anything else is logged and shown without a stack trace. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let status = 500;
    let code = 'INTERNAL_ERROR';
    let message = 'Something went wrong on our side. It has been logged; please try again.';
    let field: string | undefined;
    if (error instanceof DomainError) {
      ({ code, message, field } = error);
      status = httpStatus(error);
    } else if (error instanceof WrongExpectedVersionError) {
      status = 409;
      code = 'CONFLICT';
      message = 'Someone else changed this at the same time. Reload and try again.';
    } else if (error?.type === 'entity.too.large') {
      status = 413;
      code = 'PAYLOAD_TOO_LARGE';
      message = 'The request body is too large.';
    } else if (error?.type === 'entity.parse.failed') {
      status = 400;
      code = 'INVALID_JSON';
      // V8 names the position for most errors; an early end of input is at the body's end.
      const position =
        /position \d+/.test(String(error.message)) || typeof error.body !== 'string'
          ? ''
          : ` at position ${error.body.length}`;
      message = `The body is not valid JSON: ${error.message}${position}`;
    } else if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      status = error.status;
      code = 'BAD_REQUEST';
      message = error.expose ? error.message : 'The request could not be read.';
    } else {
      log.error({ err: error, method: req.method, path: req.path }, 'request failed');
    }
    if (res.headersSent) return;
    if (wantsJson(req)) {
      res
        .status(status)
        .json({ code, message, requestTraceId: req.requestTraceId ?? null, ...(field ? { field } : {}) });
      return;
    }
    renderError(req, res, status, {
      title: status >= 500 ? 'Something went wrong' : 'That did not work',
      message,
      code,
    });
  };
}
