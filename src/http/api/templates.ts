import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { APPROVAL_STATUSES } from '../../domain/template.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

/** WhatsApp templates over the API (read only: they are built in the web tool); handoffs name them by `id`. */

const templateSchema = z.object({
  id: z.string(),
  name: z.string(),
  language: z.string(),
  category: z.string(),
  status: z.enum(['draft', ...APPROVAL_STATUSES]),
  rejectionReason: z.string().nullable(),
  contentSid: z.string().nullable(),
});

export interface TemplateRow {
  template_id: string;
  name: string;
  language: string;
  category: string;
  kind: string;
  status: string;
  rejection_reason: string | null;
  content_sid: string | null;
  content: unknown;
  duplicated_from: string | null;
  created_at: Date;
  updated_at: Date;
}

const toApi = (row: TemplateRow) => ({
  id: row.template_id,
  name: row.name,
  language: row.language,
  category: row.category,
  status: row.status,
  rejectionReason: row.rejection_reason,
  contentSid: row.content_sid,
});

const listQuery = z.object({
  status: z.enum(['draft', ...APPROVAL_STATUSES]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export function templateApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/templates',
      summary: 'List WhatsApp templates with their approval status',
      scope: 'templates:read',
      query: listQuery,
      responses: {
        200: {
          description: 'The templates, newest first',
          schema: z.object({ templates: z.array(templateSchema), total: z.number() }),
        },
      },
    },
    async (req, res) => {
      const { status, limit, offset } = req.parsedQuery;
      const base = app
        .db('templates')
        .where({ account_id: String(req.params.accountId) })
        .whereNull('deleted_at');
      if (status) base.andWhere({ status });
      const [rows, counted] = await Promise.all([
        base.clone().orderBy('created_at', 'desc').limit(limit).offset(offset).select<TemplateRow[]>('*'),
        base.clone().count<{ count: string }[]>('* as count'),
      ]);
      res.json({ templates: rows.map(toApi), total: Number(counted[0]?.count ?? 0) });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/templates/:id',
      summary: 'Read one WhatsApp template',
      scope: 'templates:read',
      responses: {
        200: { description: 'The template', schema: templateSchema },
        404: { description: 'No such template in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const row = await app
        .db('templates')
        .where({ account_id: String(req.params.accountId), template_id: String(req.params.id) })
        .whereNull('deleted_at')
        .first<TemplateRow | undefined>();
      if (!row) {
        res
          .status(404)
          .json({ code: 'TEMPLATE_NOT_FOUND', message: 'No such template.', requestTraceId: req.requestTraceId });
        return;
      }
      res.json(toApi(row));
    },
  );
}
