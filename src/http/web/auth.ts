import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { checkPassword } from '../../auth/passwords.ts';
import { createSession, destroySession, SESSION_COOKIE, setSessionCookie } from './session.ts';

const LOGIN_CSRF_COOKIE = 'outbound_login_csrf';

const loginForm = z.object({
  email: z.string().trim().toLowerCase().min(1, 'Enter your email.'),
  password: z.string().min(1, 'Enter your password.'),
  account: z.string().trim().optional(),
  _csrf: z.string().optional(),
});

/** Only same-site paths, so a crafted link cannot bounce a fresh session elsewhere. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}

export function authRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(safeNext(req.query.next));
    // Login has no session yet, so its form is protected by a double-submit cookie instead.
    const token = randomBytes(18).toString('base64url');
    res.cookie(LOGIN_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/login' });
    res.render('auth/login', {
      title: 'Sign in',
      csrf: token,
      next: safeNext(req.query.next),
      values: {},
      error: null,
      sso: Boolean(app.config.OIDC_ISSUER),
    });
  });

  router.post('/login', async (req, res) => {
    const parsed = loginForm.safeParse(req.body);
    const next = safeNext(req.body?.next);
    const values = { email: String(req.body?.email ?? ''), account: String(req.body?.account ?? '') };
    const again = (status: number, error: string, askAccount = false) => {
      const token = randomBytes(18).toString('base64url');
      res.cookie(LOGIN_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/login' });
      res.status(status).render('auth/login', {
        title: 'Sign in',
        csrf: token,
        next,
        values,
        error,
        askAccount,
        sso: Boolean(app.config.OIDC_ISSUER),
      });
    };
    const cookieToken = req.cookies?.[LOGIN_CSRF_COOKIE];
    if (!cookieToken || req.body?._csrf !== cookieToken) {
      return again(403, 'The sign-in form expired. Please try again.');
    }
    if (!parsed.success) return again(422, parsed.error.issues[0]?.message ?? 'Enter your email and password.');
    const { email, password, account } = parsed.data;
    const candidates = await app
      .db('users')
      .where({ email, kind: 'person' })
      .modify((query) => {
        if (account) query.andWhere({ account_id: account });
      })
      .select('account_id', 'user_id');
    const matches = [];
    for (const candidate of candidates) {
      if (await checkPassword(app.db, candidate.account_id, candidate.user_id, password)) matches.push(candidate);
    }
    if (matches.length === 0) return again(401, 'That email and password do not match an account.');
    if (matches.length > 1) return again(409, 'This email belongs to several accounts: enter the account id.', true);
    const match = matches[0]!;
    const sessionId = await createSession(app.db, match.account_id, match.user_id);
    res.clearCookie(LOGIN_CSRF_COOKIE, { path: '/login' });
    setSessionCookie(req, res, sessionId);
    app.log.info({ accountId: match.account_id, userId: match.user_id }, 'signed in');
    res.redirect(303, next);
  });

  router.post('/logout', async (req, res) => {
    if (req.sessionId) await destroySession(app.db, req.sessionId);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });

  return router;
}
