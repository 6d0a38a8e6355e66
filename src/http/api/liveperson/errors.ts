import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';
import { DomainError } from '../../../domain/decider.ts';
import { WrongExpectedVersionError } from '../../../eventstore/port.ts';
import type { Logger } from '../../../infra/logger.ts';
import { httpStatus } from '../../domain-statuses.ts';

/**
 * LivePerson's error body on its own paths: `{code, message, requestTraceId}` where `code` is LivePerson's number
 * (0 in every documented answer). Our stable string code travels beside it in `outboundCode`, and `field` names
 * the input at fault, so a client written for LivePerson reads what it expects and nothing of ours is lost.
 */
export const LIVEPERSON_ERROR_CODE = 0;

export function sendLpError(
  res: Response,
  status: number,
  message: string,
  outboundCode: string,
  extra: Record<string, unknown> = {},
): void {
  res.status(status).json({
    code: LIVEPERSON_ERROR_CODE,
    message,
    requestTraceId: res.req.requestTraceId ?? null,
    outboundCode,
    ...extra,
  });
}

/** An issue that says the field is absent (for a union, every branch says so), not that its value is wrong. */
function isMissing(issue: z.core.$ZodIssue): boolean {
  if (issue.code === 'invalid_type') return /received undefined/.test(issue.message);
  if (issue.code === 'invalid_union') {
    return (
      issue.errors.length > 0 &&
      issue.errors.every((branch) => branch.some((inner) => inner.path.length === 0 && isMissing(inner)))
    );
  }
  return false;
}

/** The fields a failed parse found absent, as `a, b.c`; empty when every issue is about a value. */
export function missingFields(error: z.ZodError): string {
  return error.issues
    .filter(isMissing)
    .map((issue) => issue.path.join('.'))
    .join(', ');
}

/** The proactive FAQ's wording for a request missing required fields; every other bad field is named. */
export function lpInvalidInput(res: Response, error: z.ZodError, where: 'body' | 'query'): void {
  const fields = missingFields(error);
  if (fields) {
    sendLpError(res, 400, `Fields missing in request: ${fields}`, 'FIELDS_MISSING', { field: fields });
    return;
  }
  const first = error.issues[0]!;
  const field = first.path.join('.') || where;
  sendLpError(res, 400, `${field}: ${first.message}`, 'INVALID_FIELD', { field });
}

/**
 * Errors on LivePerson's paths (a domain error, a body the JSON parser refused, anything unexpected) in
 * LivePerson's shape. Mounted on the server for those paths, ahead of the general handler.
 */
export function livepersonErrorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof DomainError) {
      return sendLpError(res, httpStatus(error), error.message, error.code, error.field ? { field: error.field } : {});
    }
    if (error instanceof WrongExpectedVersionError) {
      return sendLpError(res, 409, 'Someone else changed this at the same time; try again.', 'CONFLICT');
    }
    if (error?.type === 'entity.parse.failed') {
      return sendLpError(res, 400, `The body is not valid JSON: ${error.message}`, 'INVALID_JSON');
    }
    if (error?.type === 'entity.too.large') {
      return sendLpError(res, 413, 'The request body is too large.', 'PAYLOAD_TOO_LARGE');
    }
    if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      return sendLpError(res, error.status, error.expose ? error.message : 'Bad request.', 'BAD_REQUEST');
    }
    log.error({ err: error, method: req.method, path: req.path }, 'request failed');
    sendLpError(res, 500, 'Something went wrong on our side. It has been logged; please try again.', 'INTERNAL_ERROR');
  };
}
