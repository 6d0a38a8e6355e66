import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../../domain/account.ts';
import type { Db } from '../../infra/db.ts';
import { renderError } from '../errors.ts';

export const SESSION_COOKIE = 'outbound_session';
const SESSION_DAYS = 7;

export interface WebUser {
  accountId: string;
  userId: string;
  email: string | null;
  name: string;
  role: Role;
}

declare global {
  namespace Express {
    interface Request {
      user?: WebUser;
      sessionId?: string;
      csrfToken?: string;
    }
  }
}

export async function createSession(db: Db, accountId: string, userId: string): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  await db('web_sessions').insert({
    id,
    account_id: accountId,
    user_id: userId,
    csrf_token: randomBytes(24).toString('base64url'),
    expires_at: new Date(Date.now() + SESSION_DAYS * 86_400_000),
  });
  return id;
}

export async function destroySession(db: Db, id: string): Promise<void> {
  await db('web_sessions').where({ id }).delete();
}

export function setSessionCookie(req: Request, res: Response, id: string): void {
  res.cookie(SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    maxAge: SESSION_DAYS * 86_400_000,
    path: '/',
  });
}

/**
 * Loads the signed-in user from the session cookie. A session whose user was removed is ignored, so a removed
 * user is signed out at once.
 */
export function loadSession(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const id = req.cookies?.[SESSION_COOKIE];
    if (typeof id !== 'string' || id.length === 0) return next();
    const row = await db('web_sessions as s')
      .join('users as u', function () {
        this.on('u.account_id', '=', 's.account_id').andOn('u.user_id', '=', 's.user_id');
      })
      .where('s.id', id)
      .andWhere('s.expires_at', '>', db.fn.now())
      .first('s.account_id', 's.user_id', 's.csrf_token', 'u.email', 'u.name', 'u.role');
    if (row && row.role !== 'bot') {
      req.user = { accountId: row.account_id, userId: row.user_id, email: row.email, name: row.name, role: row.role };
      req.sessionId = id;
      req.csrfToken = row.csrf_token;
    }
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Every state-changing request of a signed-in user carries the session's token (form field or htmx header). */
export const verifyCsrf: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method) || !req.user) return next();
  const sent = (req.get('x-csrf-token') ?? (req.body as Record<string, unknown> | undefined)?._csrf) as unknown;
  if (typeof sent === 'string' && req.csrfToken && sameToken(sent, req.csrfToken)) return next();
  renderError(req, res, 403, {
    title: 'Form expired',
    message: 'This form is out of date or was not sent from Outbound. Reload the page and try again.',
  });
};

export function requireUser(req: Request, res: Response, next: NextFunction): void {
  if (req.user) {
    next();
    return;
  }
  if (req.get('hx-request')) {
    res.set('HX-Redirect', '/login').status(401).end();
    return;
  }
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

/** The server enforces roles; hiding a button is only a courtesy. */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, res, next) => {
    if (!req.user) return requireUser(req, res, next);
    if (roles.includes(req.user.role)) return next();
    renderError(req, res, 403, {
      title: 'Not allowed',
      message: 'Your role does not allow this. Ask an admin of your account if you need it.',
    });
  };
}
