import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../../app/context.ts';
import type { TokenService } from '../../../auth/tokens.ts';
import { requireScope } from '../auth.ts';
import { apiRateLimit } from '../rate-limit.ts';
import { type ApiGuards, ApiRegistry } from '../registry.ts';
import { domainRoutes } from './domain.ts';
import { lpInvalidInput, sendLpError } from './errors.ts';
import { livepersonHandoffRoutes } from './handoffs.ts';
import { livepersonReportingRoutes } from './reporting.ts';
import { SENTINEL_TOKEN_PATH, sentinelRoutes } from './sentinel.ts';

const sentinelForm = z.object({ client_id: z.string(), client_secret: z.string() });
const sentinelAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
});
const domainAnswer = z.object({ service: z.string(), account: z.string(), baseURI: z.string() });

export const LIVEPERSON_PREFIX = '/api/account/:accountId/app/prmsg';
/** Where LivePerson's own paths live on this host: their errors are answered in LivePerson's shape. */
export const LIVEPERSON_PATHS = ['/api/account', '/sentinel'];

/** Guards for LivePerson's paths: its token errors and its "Fields missing in request" wording. */
export function livepersonGuards(app: AppContext, tokens: TokenService): ApiGuards {
  return {
    scope: (scope) => requireScope({ db: app.db, tokens }, scope, 'liveperson'),
    invalid: lpInvalidInput,
  };
}

/**
 * The LivePerson drop-in (issue 14): a brand's Proactive 2.0 integration points at this host and changes nothing
 * else. Sentinel's token call, the domain API, and under /api/account/:accountId/app/prmsg the Outbound
 * Reporting and Configuration APIs. (The campaign API itself is /api/v2/…/campaign, shared with ours.)
 */
export function livepersonRoutes(app: AppContext, tokens: TokenService): { router: Router; registry: ApiRegistry } {
  const registry = new ApiRegistry(LIVEPERSON_PREFIX);
  const router = Router();
  router.use(sentinelRoutes(app, tokens));
  router.use(domainRoutes(app));

  const account = Router({ mergeParams: true });
  const SAFE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
  account.use((req, res, next) => {
    if (SAFE_ID.test(String(req.params.accountId))) return next();
    sendLpError(res, 404, 'No such account.', 'ACCOUNT_NOT_FOUND');
  });
  account.param('id', (_req, res, next, id) => {
    if (SAFE_ID.test(String(id))) return next();
    sendLpError(res, 404, 'No such resource in this account.', 'NOT_FOUND');
  });
  account.use(
    apiRateLimit(app.db, 'liveperson', app.config.API_RATE_LIMIT_TPS, (res, code, message) =>
      sendLpError(res, 429, message, code),
    ),
  );
  const guards = livepersonGuards(app, tokens);
  livepersonReportingRoutes(app, account, registry, guards);
  livepersonHandoffRoutes(app, account, registry, guards);
  router.use(LIVEPERSON_PREFIX, account);

  router.use(LIVEPERSON_PATHS, (req, res) => {
    sendLpError(res, 404, `No route for ${req.method} ${req.originalUrl.split('?')[0]}`, 'NOT_FOUND');
  });

  registry.document('post', SENTINEL_TOKEN_PATH, {
    method: 'post',
    path: SENTINEL_TOKEN_PATH,
    summary: 'LivePerson Sentinel AppJWT: client credentials (query v=1.0&grant_type=client_credentials) → token',
    scope: null,
    bodyContentType: 'application/x-www-form-urlencoded',
    body: sentinelForm,
    responses: {
      200: { description: 'The access token, valid one hour', schema: sentinelAnswer },
      400: { description: 'v, grant_type, client_id or client_secret is missing or wrong' },
      401: { description: 'Unknown client, wrong secret, or a client of another account' },
    },
  });
  registry.document('get', '/api/account/:accountId/service/:service/baseURI.json', {
    method: 'get',
    path: '/api/account/:accountId/service/:service/baseURI.json',
    summary: 'LivePerson domain API: the host of a service (always this deployment’s)',
    scope: null,
    responses: { 200: { description: '{service, account, baseURI}', schema: domainAnswer } },
  });
  registry.document('get', '/api/account/:accountId/service/baseURI.json', {
    method: 'get',
    path: '/api/account/:accountId/service/baseURI.json',
    summary: 'LivePerson domain API: every service’s host (all this deployment’s)',
    scope: null,
    responses: { 200: { description: '{baseURIs: [{service, account, baseURI}]}' } },
  });
  return { router, registry };
}
