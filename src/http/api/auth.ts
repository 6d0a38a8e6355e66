import type { RequestHandler } from 'express';
import type { AuthenticatedClient } from '../../app/api-clients.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { ApiScope } from '../../domain/account-settings.ts';
import type { Db } from '../../infra/db.ts';
import { sendApiError } from './errors.ts';

declare global {
  namespace Express {
    interface Request {
      apiClient?: AuthenticatedClient;
    }
  }
}

/**
 * Bearer-token check for `/api/v2/account/:accountId/...`: a valid, unexpired token of a client that is not
 * revoked, issued for the account in the path, holding the scope the route needs.
 */
export function requireScope(deps: { db: Db; tokens: TokenService }, scope: ApiScope): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer');
      return sendApiError(
        res,
        401,
        'UNAUTHORIZED',
        'Send an access token from POST /oauth/token as "Authorization: Bearer <token>".',
      );
    }
    const verified = await deps.tokens.verify(match[1]!);
    if (!verified.ok) {
      res.set('WWW-Authenticate', `Bearer error="invalid_token"`);
      return sendApiError(
        res,
        401,
        verified.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN',
        verified.reason === 'expired'
          ? 'The access token has expired; get a new one.'
          : 'The access token is not valid.',
      );
    }
    const client = verified.client;
    if (req.params.accountId !== client.accountId) {
      return sendApiError(res, 403, 'FORBIDDEN_ACCOUNT', 'This token was issued for another account.');
    }
    const active = await deps
      .db('api_clients')
      .where({ account_id: client.accountId, client_id: client.clientId })
      .whereNull('revoked_at')
      .first('client_id');
    if (!active) return sendApiError(res, 401, 'CLIENT_REVOKED', 'The API client of this token was revoked.');
    if (!client.scopes.includes(scope)) {
      return sendApiError(res, 403, 'INSUFFICIENT_SCOPE', `This route needs the scope ${scope}.`, {
        requiredScope: scope,
      });
    }
    req.apiClient = client;
    next();
  };
}
