import { Router } from 'express';
import type { AppContext } from '../../../app/context.ts';
import type { TokenService } from '../../../auth/tokens.ts';
import { clientCredentialsGrant } from '../../oauth.ts';
import { sendLpError } from './errors.ts';

export const SENTINEL_TOKEN_PATH = '/sentinel/api/account/:accountId/app/token';

/**
 * LivePerson's AppJWT call (Sentinel): `POST …/app/token?v=1.0&grant_type=client_credentials` with the form
 * `client_id`, `client_secret`. The same API clients and tokens as `/oauth/token`; the client must belong to the
 * account in the path. The answer is OAuth 2.0's, as Sentinel's is: `{access_token, token_type, expires_in}`.
 */
export function sentinelRoutes(app: AppContext, tokens: TokenService): Router {
  const router = Router();
  router.post(SENTINEL_TOKEN_PATH, async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (req.query.v !== '1.0') {
      return sendLpError(res, 400, 'v must be 1.0.', 'INVALID_FIELD', {
        field: 'v',
        error: 'invalid_request',
        error_description: 'v must be 1.0.',
      });
    }
    const grant = await clientCredentialsGrant(app, tokens, req, {
      grantType: req.query.grant_type ?? req.body?.grant_type,
      accountId: String(req.params.accountId),
    });
    if (!grant.ok) {
      return sendLpError(res, grant.status, grant.message, grant.error.toUpperCase(), {
        error: grant.error,
        error_description: grant.message,
      });
    }
    res.json({
      access_token: grant.token.access_token,
      token_type: grant.token.token_type,
      expires_in: grant.token.expires_in,
    });
  });
  return router;
}
