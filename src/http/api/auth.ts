import type { RequestHandler, Response } from 'express';
import type { AuthenticatedClient, TokenService } from '../../auth/tokens.ts';
import type { ApiScope } from '../../domain/account-settings.ts';
import type { Db } from '../../infra/db.ts';
import { sendApiError } from './errors.ts';
import { sendLpError } from './liveperson/errors.ts';

declare global {
  namespace Express {
    interface Request {
      apiClient?: AuthenticatedClient;
    }
  }
}

/**
 * How a refused request is answered. Our own paths: `{code: "<OUR_CODE>", message}`. LivePerson's paths (the
 * campaign API and everything under /api/account): LivePerson's documented body, `{code: 0, message: "jwt
 * expired"}` and the like, with our code kept in `outboundCode`.
 */
export type AuthStyle = 'outbound' | 'liveperson';

interface Refusal {
  status: number;
  code: string;
  message: string;
  /** LivePerson's wording (its services answer with the JWT library's messages). */
  lpMessage: string;
  extra?: Record<string, unknown>;
}

function refuse(res: Response, style: AuthStyle, refusal: Refusal): void {
  if (style === 'liveperson') sendLpError(res, refusal.status, refusal.lpMessage, refusal.code, refusal.extra);
  else sendApiError(res, refusal.status, refusal.code, refusal.message, refusal.extra);
}

/**
 * Bearer-token check for the account-scoped API paths: a valid, unexpired token of a client that is not revoked,
 * issued for the account in the path, holding the scope the route needs.
 */
export function requireScope(
  deps: { db: Db; tokens: TokenService },
  scope: ApiScope,
  style: AuthStyle = 'outbound',
): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer');
      return refuse(res, style, {
        status: 401,
        code: 'UNAUTHORIZED',
        message: 'Send an access token from POST /oauth/token as "Authorization: Bearer <token>".',
        lpMessage: 'No authorization token was found',
      });
    }
    const verified = await deps.tokens.verify(match[1]!);
    if (!verified.ok) {
      res.set('WWW-Authenticate', `Bearer error="invalid_token"`);
      const expired = verified.reason === 'expired';
      return refuse(res, style, {
        status: 401,
        code: expired ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN',
        message: expired ? 'The access token has expired; get a new one.' : 'The access token is not valid.',
        lpMessage: expired ? 'jwt expired' : 'invalid token',
      });
    }
    const client = verified.client;
    if (req.params.accountId !== client.accountId) {
      const message = 'This token was issued for another account.';
      return refuse(res, style, { status: 403, code: 'FORBIDDEN_ACCOUNT', message, lpMessage: message });
    }
    const active = await deps
      .db('api_clients')
      .where({ account_id: client.accountId, client_id: client.clientId })
      .whereNull('revoked_at')
      .first('client_id');
    if (!active) {
      const message = 'The API client of this token was revoked.';
      return refuse(res, style, { status: 401, code: 'CLIENT_REVOKED', message, lpMessage: message });
    }
    if (!client.scopes.includes(scope)) {
      const message = `This route needs the scope ${scope}.`;
      return refuse(res, style, {
        status: 403,
        code: 'INSUFFICIENT_SCOPE',
        message,
        lpMessage: message,
        extra: { requiredScope: scope },
      });
    }
    req.apiClient = client;
    next();
  };
}
