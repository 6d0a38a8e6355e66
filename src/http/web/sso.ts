import { randomBytes } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import * as client from 'openid-client';
import type { AppContext } from '../../app/context.ts';
import { createSession, setSessionCookie } from './session.ts';

const FLOW_COOKIE = 'outbound_oidc';
const CALLBACK = '/auth/oidc/callback';

/**
 * F2: single sign-on through any OpenID Connect provider (authorization code with PKCE, via openid-client). The
 * provider's verified email is matched to an existing person of an account; SSO never creates users.
 */
export function ssoRoutes(app: AppContext): Router {
  const router = Router();
  const { OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET } = app.config;
  if (!OIDC_ISSUER || !OIDC_CLIENT_ID || !OIDC_CLIENT_SECRET) return router;

  let discovered: Promise<client.Configuration> | null = null;
  const configuration = () => {
    discovered ??= client
      .discovery(
        new URL(OIDC_ISSUER),
        OIDC_CLIENT_ID,
        OIDC_CLIENT_SECRET,
        undefined,
        // Plain http only for a provider on this machine (development and tests).
        new URL(OIDC_ISSUER).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        discovered = null;
        throw error;
      });
    return discovered;
  };
  const redirectUri = (req: Request) =>
    `${(app.config.PUBLIC_URL ?? `${req.protocol}://${req.get('host')}`).replace(/\/$/, '')}${CALLBACK}`;

  /** Back to the sign-in page with the reason, its password form ready (a fresh double-submit token). */
  const failed = (res: Response, status: number, message: string) => {
    const token = randomBytes(18).toString('base64url');
    res.cookie('outbound_login_csrf', token, { httpOnly: true, sameSite: 'strict', path: '/login' });
    res
      .status(status)
      .render('auth/login', { title: 'Sign in', csrf: token, next: '/', values: {}, error: message, sso: true });
  };

  router.get('/auth/oidc', async (req, res) => {
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (error) {
      app.log.error({ err: error, issuer: OIDC_ISSUER }, 'OIDC discovery failed');
      return failed(res, 502, 'Single sign-on is not reachable right now. Sign in with your password, or try again.');
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    res.cookie(FLOW_COOKIE, JSON.stringify({ verifier, state }), {
      httpOnly: true,
      sameSite: 'lax',
      path: CALLBACK,
      maxAge: 10 * 60_000,
      secure: req.secure,
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri(req),
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    res.redirect(303, url.href);
  });

  router.get(CALLBACK, async (req, res) => {
    let flow: { verifier: string; state: string };
    try {
      flow = JSON.parse(String(req.cookies?.[FLOW_COOKIE] ?? ''));
    } catch {
      return failed(res, 400, 'The sign-in took too long or was started elsewhere. Please try again.');
    }
    res.clearCookie(FLOW_COOKIE, { path: CALLBACK });
    let email: string | undefined;
    try {
      const config = await configuration();
      const current = new URL(`${redirectUri(req)}${req.originalUrl.slice(req.originalUrl.indexOf('?'))}`);
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
      });
      const claims = tokens.claims();
      // Providers may keep the email out of the ID token and give it on the userinfo endpoint instead.
      const identity = (
        typeof claims?.email === 'string' || !claims
          ? (claims ?? {})
          : await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      ) as { email?: unknown; email_verified?: unknown };
      if (identity.email_verified !== false && typeof identity.email === 'string') email = identity.email.toLowerCase();
    } catch (error) {
      app.log.warn({ err: error }, 'OIDC sign-in refused');
      return failed(res, 401, 'Single sign-on did not confirm who you are. Please try again.');
    }
    if (!email) return failed(res, 401, 'Your identity provider did not share a verified email address.');
    const matches = await app
      .db('users')
      .where({ email, kind: 'person' })
      .select<{ account_id: string; user_id: string }[]>('account_id', 'user_id');
    const match = matches.find((row) => row.account_id === app.config.ACCOUNT_ID) ?? matches[0];
    if (!match) {
      return failed(res, 403, `${email} is not a user of Outbound. Ask an admin of your account to add you.`);
    }
    const sessionId = await createSession(app.db, match.account_id, match.user_id);
    setSessionCookie(req, res, sessionId);
    app.log.info({ accountId: match.account_id, userId: match.user_id }, 'signed in with SSO');
    res.redirect(303, '/');
  });

  return router;
}
