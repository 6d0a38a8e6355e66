import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { createHandoff, handoffListQuery } from '../../app/handoffs.ts';
import { handoffConfigSchema } from '../../domain/handoff.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

const handoffSchema = handoffConfigSchema.extend({ id: z.string(), createdAt: z.string(), updatedAt: z.string() });

interface HandoffRow {
  handoff_id: string;
  config: z.infer<typeof handoffConfigSchema>;
  created_at: Date;
  updated_at: Date;
}

const toApi = (row: HandoffRow) => ({
  id: row.handoff_id,
  ...row.config,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** F17 over the API: create, list (limit/offset, by channel) and read handoffs, in LivePerson's field names. */
export function handoffApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/handoffs',
      summary: 'Create an API handoff',
      scope: 'handoffs:write',
      body: handoffConfigSchema,
      responses: {
        201: { description: 'The handoff, with its id', schema: handoffSchema },
        400: { description: 'A field is invalid', schema: apiErrorSchema },
        409: { description: 'The name is taken', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const result = await createHandoff(app, accountId, req.parsedBody, {
        actor: req.apiClient!.clientId,
        correlationId: req.requestTraceId,
      });
      if (result.position) await waitForProjection(app.db, 'handoffs', result.position, { timeoutMs: 2000 });
      const now = new Date().toISOString();
      res.status(201).json({ id: result.handoffId, ...result.config, createdAt: now, updatedAt: now });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/handoffs',
      summary: 'List API handoffs',
      scope: 'handoffs:read',
      query: handoffListQuery,
      responses: {
        200: {
          description: 'A page of handoffs, newest first',
          schema: z.object({
            handoffs: z.array(handoffSchema),
            total: z.number(),
            limit: z.number(),
            offset: z.number(),
          }),
        },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const { limit, offset, channel } = req.parsedQuery;
      const base = app.db('handoffs').where({ account_id: accountId }).whereNull('archived_at');
      if (channel) base.whereRaw('? = any(channel_types)', [channel]);
      const [rows, counted] = await Promise.all([
        base.clone().orderBy('created_at', 'desc').limit(limit).offset(offset).select<HandoffRow[]>('*'),
        base.clone().count<{ count: string }[]>('* as count'),
      ]);
      res.json({ handoffs: rows.map(toApi), total: Number(counted[0]?.count ?? 0), limit, offset });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/handoffs/:id',
      summary: 'Read one API handoff',
      scope: 'handoffs:read',
      responses: {
        200: { description: 'The handoff', schema: handoffSchema },
        404: { description: 'No such handoff in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const row = await app
        .db('handoffs')
        .where({ account_id: String(req.params.accountId), handoff_id: String(req.params.id) })
        .whereNull('archived_at')
        .first<HandoffRow | undefined>();
      if (!row) {
        res
          .status(404)
          .json({ code: 'HANDOFF_NOT_FOUND', message: 'No such handoff.', requestTraceId: req.requestTraceId });
        return;
      }
      res.json(toApi(row));
    },
  );
}
