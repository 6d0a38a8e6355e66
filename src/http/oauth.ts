import { type Request, type Response, Router } from 'express';
import { authenticateClient } from '../app/api-clients.ts';
import type { AppContext } from '../app/context.ts';
import { TOKEN_LIFETIME_SECONDS, type TokenService } from '../auth/tokens.ts';
import { sendApiError } from './api/errors.ts';

type Grant =
  | { ok: true; token: { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string } }
  | { ok: false; status: number; error: string; message: string };

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4): form-encoded, the secret in the body or in HTTP Basic. Shared by
 * `/oauth/token` and LivePerson's Sentinel path, so both take the same API clients and give the same tokens. With
 * `accountId`, a client of another account is refused as an unknown one.
 */
export async function clientCredentialsGrant(
  app: AppContext,
  tokens: TokenService,
  req: Request,
  fields: { grantType: unknown; accountId?: string },
): Promise<Grant> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const fail = (status: number, error: string, message: string): Grant => ({ ok: false, status, error, message });
  if (!req.is('application/x-www-form-urlencoded')) {
    return fail(400, 'invalid_request', 'Send the request form-encoded (application/x-www-form-urlencoded).');
  }
  if (fields.grantType !== 'client_credentials') {
    return fail(400, 'unsupported_grant_type', 'grant_type must be client_credentials.');
  }
  let clientId = body.client_id;
  let clientSecret = body.client_secret;
  const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
  }
  if (typeof clientId !== 'string' || clientId === '') return fail(400, 'invalid_request', 'client_id is required.');
  if (typeof clientSecret !== 'string' || clientSecret === '') {
    return fail(400, 'invalid_request', 'client_secret is required.');
  }
  const unknown = fail(401, 'invalid_client', 'Unknown client or wrong secret.');
  if (clientId.length > 200 || clientSecret.length > 200) return unknown;
  const client = await authenticateClient(app, clientId, clientSecret);
  if (!client || (fields.accountId !== undefined && client.accountId !== fields.accountId)) return unknown;
  let scopes = client.scopes;
  if (typeof body.scope === 'string' && body.scope.trim() !== '') {
    const requested = body.scope.trim().split(/\s+/);
    const refused = requested.filter((scope) => !client.scopes.includes(scope));
    if (refused.length > 0) return fail(400, 'invalid_scope', `This client may not have: ${refused.join(', ')}.`);
    scopes = requested;
  }
  return {
    ok: true,
    token: {
      access_token: await tokens.issue(client, scopes),
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      scope: scopes.join(' '),
    },
  };
}

/** A refused grant as RFC 6749 §5.2 writes it, beside the API's own `{code, message}`. */
export function sendGrantError(res: Response, grant: Extract<Grant, { ok: false }>): void {
  sendApiError(res, grant.status, grant.error.toUpperCase(), grant.message, {
    error: grant.error,
    error_description: grant.message,
  });
}

export function oauthRoutes(app: AppContext, tokens: TokenService): Router {
  const router = Router();
  router.post('/oauth/token', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const grant = await clientCredentialsGrant(app, tokens, req, { grantType: req.body?.grant_type });
    if (!grant.ok) return sendGrantError(res, grant);
    res.json(grant.token);
  });
  return router;
}
