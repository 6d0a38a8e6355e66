import { Router } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { TokenService } from '../../auth/tokens.ts';
import { oauthRoutes } from '../oauth.ts';
import { requireScope } from './auth.ts';
import { campaignApiRoutes } from './campaigns.ts';
import { requestTrace, sendApiError } from './errors.ts';
import { gdprApiRoutes } from './gdpr.ts';
import { handoffApiRoutes } from './handoffs.ts';
import { idempotency } from './idempotency.ts';
import { inAppApiRoutes } from './inapp.ts';
import { missingFields } from './liveperson/errors.ts';
import { livepersonGuards, livepersonRoutes } from './liveperson/index.ts';
import { apiRateLimit } from './rate-limit.ts';
import { type ApiGuards, ApiRegistry } from './registry.ts';
import { reportingApiRoutes } from './reporting.ts';
import { templateApiRoutes } from './templates.ts';
import { webhookApiRoutes } from './webhooks.ts';

export const API_PREFIX = '/api/v2/account/:accountId';

/** A request body that fails its schema: LivePerson's wording for missing fields, the field's path otherwise. */
export function invalidInput(
  res: Parameters<typeof sendApiError>[0],
  error: z.ZodError,
  where: 'body' | 'query',
): void {
  const fields = missingFields(error);
  if (fields) {
    sendApiError(res, 400, 'FIELDS_MISSING', `Fields missing in request: ${fields}`, { field: fields });
    return;
  }
  const first = error.issues[0]!;
  const field = first.path.join('.') || where;
  sendApiError(res, 400, 'INVALID_FIELD', `${field}: ${first.message}`, { field });
}

/**
 * The Outbound API: OAuth token endpoint, the account-scoped resource routes, and the generated OpenAPI
 * document at /api/docs. Resource modules add their routes through `defineApiRoute` with this registry.
 */
export function apiRoutes(app: AppContext): { router: Router; registry: ApiRegistry } {
  const tokens = new TokenService(app.db);
  const registry = new ApiRegistry(API_PREFIX);
  const router = Router();
  router.use(['/api', '/oauth', '/sentinel'], requestTrace);
  router.use(oauthRoutes(app, tokens));
  const liveperson = livepersonRoutes(app, tokens);
  router.use(liveperson.router);

  const account = Router({ mergeParams: true });
  const guards: ApiGuards = {
    scope: (scope) => requireScope({ db: app.db, tokens }, scope),
    invalid: invalidInput,
  };
  // Ids are short tokens; anything else (control characters, 70 KB strings) names nothing and reaches no query.
  const SAFE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
  account.use((req, res, next) => {
    if (SAFE_ID.test(String(req.params.accountId))) return next();
    sendApiError(res, 404, 'ACCOUNT_NOT_FOUND', 'No such account.');
  });
  account.param('id', (_req, res, next, id) => {
    if (SAFE_ID.test(String(id))) return next();
    sendApiError(res, 404, 'NOT_FOUND', 'No such resource in this account.');
  });
  account.use(apiRateLimit(app.db, 'outbound', app.config.API_RATE_LIMIT_TPS));
  account.use(idempotency(app.db));
  handoffApiRoutes(app, account, registry, guards);
  // The campaign API is LivePerson's too: a refused token is answered as LivePerson documents it.
  campaignApiRoutes(app, account, registry, { ...guards, scope: livepersonGuards(app, tokens).scope });
  reportingApiRoutes(app, account, registry, guards);
  webhookApiRoutes(app, account, registry, guards);
  gdprApiRoutes(app, account, registry, guards);
  templateApiRoutes(app, account, registry, guards);
  inAppApiRoutes(app, account, registry, guards);
  router.use(API_PREFIX, account);
  registry.include(liveperson.registry);

  router.get('/api/docs/openapi.json', (_req, res) => {
    res.json(
      registry.openApi({
        title: 'Outbound API',
        version: '2.0',
        description:
          'Proactive campaigns, API handoffs and reporting; LivePerson Proactive 2.0 compatible shapes. ' +
          'LivePerson’s own paths (Sentinel token, domain API, Outbound Reporting and Configuration APIs) ' +
          'are served here too, so an existing integration only changes its host.',
      }),
    );
  });
  router.get('/api/docs', (_req, res) => {
    res.render('api/docs', { title: 'Outbound API', routes: registry.routes });
  });
  return { router, registry };
}
