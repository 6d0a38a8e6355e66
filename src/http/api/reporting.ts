import type { Router } from 'express';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { accountAnalytics } from '../../app/analytics.ts';
import type { AppContext } from '../../app/context.ts';
import { LP_MESSAGE_STATUS } from '../../app/liveperson/outcomes.ts';
import { DomainError } from '../../domain/decider.ts';
import { sendApiError } from './errors.ts';
import { analyticsCounts } from './liveperson/reporting-shapes.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

export const MAX_REPORT_DAYS = 60;

const day = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}(T.*)?$/, 'a date as YYYY-MM-DD (or an ISO date-time)')
  .transform((text) => text.slice(0, 10))
  .refine((text) => DateTime.fromISO(text, { zone: 'utc' }).isValid, 'not a calendar date');

const analyticsQuery = z.object({
  from: day.optional(),
  to: day.optional(),
  channel: z.enum(['sms', 'whatsapp', 'inapp']).optional(),
  skill: z.string().trim().min(1).max(255).optional(),
});

const analyticsRowSchema = analyticsCounts.extend({
  transactionday: z.string().describe('YYYY-MM-DD (UTC)'),
  skipped_aggregation: z.record(z.string(), z.number()),
  optOuts: z.number(),
  responded: z.number(),
});

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** F16 over the API, in LivePerson's Outbound Reporting shapes: daily analytics and a per-campaign report. */
export function reportingApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/reporting/analytics',
      summary: 'Daily counts per channel and skill (at most 60 days; the last 7 by default)',
      scope: 'reporting:read',
      query: analyticsQuery,
      responses: {
        200: {
          description: 'One row per day, channel and skill that had activity',
          schema: z.object({
            requestMetadata: z.object({
              accountId: z.string(),
              from: z.string(),
              to: z.string(),
              channel: z.string().nullable(),
              skill: z.string().nullable(),
              requestTraceId: z.string(),
            }),
            analytics: z.array(analyticsRowSchema),
          }),
        },
        400: { description: 'A bad date, or a range over 60 days', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const { channel, skill } = req.parsedQuery;
      const today = DateTime.utc().toISODate()!;
      const to =
        req.parsedQuery.to ??
        (req.parsedQuery.from ? DateTime.fromISO(req.parsedQuery.from).plus({ days: 6 }).toISODate()! : today);
      const from = req.parsedQuery.from ?? DateTime.fromISO(to).minus({ days: 6 }).toISODate()!;
      if (from > to) throw new DomainError('INVALID_FIELD', 'from must not be after to.', 'from');
      const days = DateTime.fromISO(to).diff(DateTime.fromISO(from), 'days').days + 1;
      if (days > MAX_REPORT_DAYS) {
        throw new DomainError('RANGE_TOO_LONG', `A report covers at most ${MAX_REPORT_DAYS} days.`, 'from');
      }
      let skillIds: string[] | undefined;
      if (skill) {
        skillIds = (
          await app
            .db('skills')
            .where({ account_id: accountId })
            .andWhere((match) => match.where('skill_id', skill).orWhereRaw('lower(name) = lower(?)', [skill]))
            .select<{ skill_id: string }[]>('skill_id')
        ).map((row) => row.skill_id);
        if (skillIds.length === 0) {
          return sendApiError(
            res,
            400,
            'UNKNOWN_SKILL',
            `skill ${JSON.stringify(skill)} is not a skill of this account.`,
            {
              field: 'skill',
            },
          );
        }
      }
      res.json({
        requestMetadata: {
          accountId,
          from,
          to,
          channel: channel ?? null,
          skill: skill ?? null,
          requestTraceId: req.requestTraceId,
        },
        analytics: await accountAnalytics(app, accountId, { from, to, channel, skillIds }),
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/reporting/campaigns/:id',
      summary: 'Per-consumer report of a campaign, paged',
      scope: 'reporting:read',
      query: pageQuery,
      responses: {
        200: {
          description: 'A page of the campaign’s consumers, in the order they were accepted',
          schema: z.object({
            requestMetadata: z.object({ accountId: z.string(), campaignId: z.string(), requestTraceId: z.string() }),
            page: z.object({
              count: z.number(),
              previousOffset: z.number().nullable(),
              currentOffset: z.number(),
              nextOffset: z.number().nullable(),
            }),
            consumersReport: z.array(
              z.object({
                id: z.string(),
                status: z.string(),
                errorCode: z.string().nullable(),
                errorMessage: z.string().nullable(),
                errorSource: z.string().nullable(),
                consumerId: z.string(),
                conversationId: z.string().nullable(),
              }),
            ),
          }),
        },
        404: { description: 'No such campaign in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const campaignId = String(req.params.id);
      const exists = await app
        .db('campaigns')
        .where({ account_id: accountId, campaign_id: campaignId })
        .first('campaign_id');
      if (!exists) return sendApiError(res, 404, 'CAMPAIGN_NOT_FOUND', 'No such campaign in this account.');
      const { limit, offset } = req.parsedQuery;
      const rows = await app
        .db('campaign_messages')
        .where({ account_id: accountId, campaign_id: campaignId })
        .orderBy('seq')
        .limit(limit + 1)
        .offset(offset)
        .select<
          {
            message_id: string;
            status: string;
            reason: string | null;
            error_code: string | null;
            error_message: string | null;
            error_source: string | null;
            consumer_ref: string;
            conversation_id?: string | null;
          }[]
        >('*');
      const page = rows.slice(0, limit);
      res.json({
        requestMetadata: { accountId, campaignId, requestTraceId: req.requestTraceId },
        page: {
          count: page.length,
          previousOffset: offset > 0 ? Math.max(0, offset - limit) : null,
          currentOffset: offset,
          nextOffset: rows.length > limit ? offset + limit : null,
        },
        consumersReport: page.map((row) => {
          const skipped = row.status === 'skipped';
          return {
            id: row.message_id,
            status: LP_MESSAGE_STATUS[row.status] ?? row.status.toUpperCase(),
            errorCode: skipped ? (row.reason?.toUpperCase().replace(/-/g, '_') ?? null) : row.error_code,
            errorMessage: skipped ? row.reason : row.error_message,
            errorSource: skipped ? 'outbound' : row.error_source,
            consumerId: row.consumer_ref,
            conversationId: row.conversation_id ?? null,
          };
        }),
      });
    },
  );
}
