import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { deliveryCounts, removeStatusWebhook, setStatusWebhook } from '../../app/status-webhooks.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { sendApiError } from './errors.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

const webhookBody = z.object({
  url: z.string().trim().min(1).max(2048),
  secret: z.string().min(16).max(200).optional(),
});

const deliveriesQuery = z.object({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const deliverySchema = z.object({
  eventId: z.string(),
  proactiveCampaignId: z.string().nullable(),
  id: z.string().nullable(),
  status: z.string(),
  attempts: z.number(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  payload: z.unknown(),
});

/** B6 over the API: register the status webhook, read it with delivery counts, list deliveries, remove it. */
export function webhookApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'put',
      path: '/webhooks/status',
      summary: 'Register the URL that receives every message status change, signed with HMAC-SHA256',
      scope: 'campaigns:write',
      body: webhookBody,
      responses: {
        200: {
          description:
            'The webhook. `secret` signs each POST: header X-Outbound-Signature is `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.',
          schema: z.object({ url: z.string(), secret: z.string() }),
        },
        400: { description: 'A bad URL or secret', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const result = await setStatusWebhook(
        app,
        { accountId, url: req.parsedBody.url, secret: req.parsedBody.secret },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );
      if (result.position) await waitForProjection(app.db, 'account-settings', result.position, { timeoutMs: 2000 });
      res.json({ url: result.url, secret: result.secret });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/webhooks/status',
      summary: 'The registered status webhook and its delivery counts',
      scope: 'campaigns:read',
      responses: {
        200: {
          description: 'The webhook (without its secret)',
          schema: z.object({
            url: z.string(),
            updatedAt: z.string(),
            deliveries: z.object({ pending: z.number(), delivered: z.number(), failed: z.number() }),
          }),
        },
        404: { description: 'No webhook is registered', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const row = await app
        .db('status_webhooks')
        .where({ account_id: accountId })
        .first<{ url: string; updated_at: Date } | undefined>();
      if (!row) return sendApiError(res, 404, 'WEBHOOK_NOT_FOUND', 'No status webhook is registered.');
      const deliveries = await deliveryCounts(app.db, accountId);
      res.json({ url: row.url, updatedAt: row.updated_at.toISOString(), deliveries });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/webhooks/status/deliveries',
      summary: 'Status webhook deliveries, newest first; `status=failed` lists those that gave up',
      scope: 'campaigns:read',
      query: deliveriesQuery,
      responses: {
        200: {
          description: 'A page of deliveries',
          schema: z.object({ deliveries: z.array(deliverySchema), limit: z.number(), offset: z.number() }),
        },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const { status, limit, offset } = req.parsedQuery;
      const query = app.db('webhook_deliveries').where({ account_id: accountId });
      if (status) query.andWhere({ status });
      const rows = await query.orderBy('created_at', 'desc').limit(limit).offset(offset).select('*');
      res.json({
        deliveries: rows.map((row) => ({
          eventId: row.event_id,
          proactiveCampaignId: row.campaign_id,
          id: row.message_id,
          status: row.status,
          attempts: row.attempts,
          lastStatus: row.last_status,
          lastError: row.last_error,
          createdAt: row.created_at.toISOString(),
          nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
          deliveredAt: row.delivered_at?.toISOString() ?? null,
          payload: row.payload,
        })),
        limit,
        offset,
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'delete',
      path: '/webhooks/status',
      summary: 'Remove the status webhook; pending deliveries are given up',
      scope: 'campaigns:write',
      responses: { 204: { description: 'Removed (or there was none)' } },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const result = await removeStatusWebhook(
        app,
        { accountId },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );
      if (result.position) await waitForProjection(app.db, 'account-settings', result.position, { timeoutMs: 2000 });
      res.status(204).end();
    },
  );
}
