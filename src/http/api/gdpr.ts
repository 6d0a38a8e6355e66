import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { consumerIdentitySchema, erasureStatus, type GdprDeps, requestErasure } from '../../app/gdpr.ts';
import { consentChangeSchema, consentHistory, recordConsentChange } from '../../app/gdpr-consent.ts';
import { exportConsumer } from '../../app/gdpr-export.ts';
import { createMessageRedactor } from '../../channels/twilio-redaction.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

const consentSchema = z.object({
  optedOut: z.boolean(),
  history: z.array(
    z.object({
      optedOut: z.boolean(),
      keyword: z.string().nullable(),
      channel: z.string(),
      via: z.enum(['keyword', 'provider-21610', 'api', 'web']),
      at: z.string(),
    }),
  ),
});

const erasureStatusSchema = z.object({
  erasureId: z.string(),
  status: z.enum(['pending', 'done']),
  requestedAt: z.string(),
  completedAt: z.string().nullable(),
});

export function gdprDeps(app: AppContext): GdprDeps {
  return { ...app, personalData: app.channels.personalData, redactor: createMessageRedactor(app.config, app.channels) };
}

/**
 * F14 over the API (DESIGN §10): erasure by number or in-app consumer id (scope gdpr:write), its state, and the
 * consumer's data export (scope gdpr:read). An unknown number is erased "successfully" too: no oracle.
 */
export function gdprApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  const deps = gdprDeps(app);
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/gdpr/erasure',
      summary: "Erase a consumer's personal data (crypto-shredding)",
      scope: 'gdpr:write',
      body: consumerIdentitySchema,
      responses: {
        202: { description: 'Accepted; poll its state', schema: z.object({ erasureId: z.string() }) },
        400: { description: 'Neither or both of phone and consumerId, or an invalid number', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const result = await requestErasure(deps, String(req.params.accountId), req.parsedBody, {
        actor: req.apiClient!.clientId,
        correlationId: req.requestTraceId,
      });
      res.status(202).json(result);
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/gdpr/erasure/:erasureId',
      summary: 'The state of an erasure: done once every read model has applied it',
      scope: 'gdpr:write',
      responses: {
        200: { description: 'Its state', schema: erasureStatusSchema },
        404: { description: 'No such erasure in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      res.json(await erasureStatus(deps, String(req.params.accountId), String(req.params.erasureId)));
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/gdpr/export',
      summary: 'Everything held about a consumer, as one JSON document',
      scope: 'gdpr:read',
      query: consumerIdentitySchema.strip(),
      responses: {
        200: { description: 'The export' },
        400: { description: 'Neither or both of phone and consumerId, or an invalid number', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const document = await exportConsumer(deps, String(req.params.accountId), req.parsedQuery, {
        actor: req.apiClient!.clientId,
        correlationId: req.requestTraceId,
      });
      res.set('Content-Disposition', `attachment; filename="consumer-export-${document.exportId}.json"`);
      res.json(document);
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/gdpr/consent',
      summary: "A consumer's opt-out state and their opt-in/opt-out history per channel",
      scope: 'gdpr:read',
      query: consumerIdentitySchema.strip(),
      responses: {
        200: { description: 'The history, oldest first', schema: consentSchema },
        400: { description: 'Neither or both of phone and consumerId, or an invalid number', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      res.json(await consentHistory(deps, String(req.params.accountId), req.parsedQuery));
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/gdpr/consent',
      summary: 'Record an opt-out (or an opt-in) that reached you another way; it applies to every sender',
      scope: 'gdpr:write',
      body: consentChangeSchema,
      responses: {
        200: { description: 'The consumer’s history after the change', schema: consentSchema },
        400: { description: 'A field is invalid', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const { optedOut, channel, ...identity } = req.parsedBody;
      const recorded = await recordConsentChange(deps, accountId, { ...identity, optedOut, channel }, 'api', {
        actor: req.apiClient!.clientId,
        correlationId: req.requestTraceId,
      });
      res.json(await consentHistory(deps, accountId, identity, recorded.position));
    },
  );
}
