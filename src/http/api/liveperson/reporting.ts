import type { Request, Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../../app/context.ts';
import {
  analytics,
  attemptedRange,
  campaignExists,
  campaignReport,
  type ReportFilters,
  transactions,
} from '../../../app/liveperson/reporting.ts';
import { type ApiGuards, type ApiRegistry, defineApiRoute } from '../registry.ts';
import { sendLpError } from './errors.ts';
import {
  APP,
  analyticsAnswer,
  analyticsBody,
  campaignAnalyticsAnswer,
  campaignReportAnswer,
  campaignReportQuery,
  lpErrorSchema,
  MAX_ANALYTICS_MS,
  MAX_TRANSACTIONS_MS,
  pageToken,
  timeRangeQuery,
  transactionsAnswer,
  transactionsBody,
  transactionsQuery,
  transactionsV1Answer,
  V1_PAGE_SIZE,
} from './reporting-shapes.ts';

type Res = Parameters<typeof sendLpError>[0];

/** The time range of a request, or an answer naming what is wrong with it. */
function rangeOf(res: Res, query: { attemptedStartTime: number; attemptedEndTime: number }, maxMs: number) {
  const { attemptedStartTime: start, attemptedEndTime: end } = query;
  if (start > end) {
    sendLpError(res, 400, 'attemptedStartTime must not be after attemptedEndTime.', 'INVALID_FIELD', {
      field: 'attemptedStartTime',
    });
    return null;
  }
  if (end - start > maxMs) {
    const limit = maxMs === MAX_TRANSACTIONS_MS ? '24 hours' : '60 days';
    sendLpError(res, 400, `The time range may not exceed ${limit}.`, 'RANGE_TOO_LONG', { field: 'attemptedEndTime' });
    return null;
  }
  return { start: new Date(start), end: new Date(end) };
}

const errors = {
  400: { description: 'A parameter is missing or invalid', schema: lpErrorSchema },
  401: { description: 'No token, or an expired or invalid one', schema: lpErrorSchema },
};
const accountIdOf = (req: Request) => String(req.params.accountId);

/**
 * LivePerson's Outbound Reporting API at its documented paths under /api/account/:accountId/app/prmsg: the
 * campaign report and analytics, account analytics (GET, and POST with filters) and transactions (v2.0).
 */
export function livepersonReportingRoutes(
  app: AppContext,
  router: Router,
  registry: ApiRegistry,
  guards: ApiGuards,
): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/campaigns/:id/',
      summary: 'LivePerson campaign report: each consumer’s status, error source and code (paged)',
      scope: 'reporting:read',
      query: campaignReportQuery,
      responses: {
        200: { description: 'A page of the campaign’s consumers', schema: campaignReportAnswer },
        ...errors,
        404: { description: 'No such campaign in this account', schema: lpErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = accountIdOf(req);
      const campaignId = String(req.params.id);
      if (!(await campaignExists(app.db, accountId, campaignId))) {
        return sendLpError(res, 404, 'No such campaign in this account.', 'CAMPAIGN_NOT_FOUND');
      }
      const { offset, limit } = req.parsedQuery;
      const report = await campaignReport(app.db, accountId, campaignId, { offset, limit });
      res.json({
        requestMetadata: { accountId, app: APP, proactiveCampaignId: campaignId },
        page: {
          count: report.entries.length,
          previousOffset: offset > 0 ? Math.max(0, offset - limit) : -1,
          currentOffset: offset,
          nextOffset: report.more ? offset + limit : -1,
        },
        consumersReport: report.entries,
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/campaigns/:id/analytics/',
      summary: 'LivePerson campaign analytics: the campaign’s counts per day, channel and skill',
      scope: 'reporting:read',
      responses: {
        200: { description: 'The campaign’s analytics', schema: campaignAnalyticsAnswer },
        ...errors,
        404: { description: 'No such campaign in this account', schema: lpErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = accountIdOf(req);
      const campaignId = String(req.params.id);
      const campaign = await campaignExists(app.db, accountId, campaignId);
      if (!campaign) return sendLpError(res, 404, 'No such campaign in this account.', 'CAMPAIGN_NOT_FOUND');
      const [range, entries] = await Promise.all([
        attemptedRange(app.db, accountId, campaignId),
        analytics(app.db, accountId, { campaignId, filters: {} }),
      ]);
      res.json({
        requestMetadata: {
          accountId,
          app: APP,
          proactiveCampaignId: campaignId,
          attemptedStartTime: range.first?.getTime() ?? null,
          attemptedEndTime: range.last?.getTime() ?? null,
        },
        analytics: entries,
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/analytics/',
      summary: 'LivePerson account analytics between two times (epoch ms, at most 60 days)',
      scope: 'reporting:read',
      query: timeRangeQuery,
      responses: { 200: { description: 'Counts per day, channel and skill', schema: analyticsAnswer }, ...errors },
    },
    async (req, res) => {
      const range = rangeOf(res, req.parsedQuery, MAX_ANALYTICS_MS);
      if (!range) return;
      const accountId = accountIdOf(req);
      res.json({
        requestMetadata: { accountId, app: APP, ...req.parsedQuery },
        analytics: await analytics(app.db, accountId, { ...range, filters: {} }),
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/analytics/',
      summary: 'LivePerson account analytics with filters (channels, skills, handoffids, source)',
      scope: 'reporting:read',
      query: timeRangeQuery,
      body: analyticsBody,
      responses: {
        200: {
          description: 'Counts per day, channel and skill, and per handoff and source when filtered on them',
          schema: analyticsAnswer,
        },
        ...errors,
      },
    },
    async (req, res) => {
      const range = rangeOf(res, req.parsedQuery, MAX_ANALYTICS_MS);
      if (!range) return;
      const accountId = accountIdOf(req);
      const filters: ReportFilters = req.parsedBody;
      res.json({
        requestMetadata: { accountId, app: APP, ...req.parsedQuery, filters },
        analytics: await analytics(app.db, accountId, { ...range, filters }),
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/transactions/',
      summary:
        'LivePerson transactions: each message attempted in a time range (at most 24 hours); v=2.0 pages by offset, ' +
        'version 1.0 (no v) by page token',
      scope: 'reporting:read',
      query: transactionsQuery,
      body: transactionsBody,
      responses: {
        200: { description: 'A page of transactions', schema: z.union([transactionsAnswer, transactionsV1Answer]) },
        ...errors,
      },
    },
    async (req, res) => {
      const range = rangeOf(res, req.parsedQuery, MAX_TRANSACTIONS_MS);
      if (!range) return;
      const accountId = accountIdOf(req);
      const { attemptedStartTime, attemptedEndTime, v } = req.parsedQuery;
      const body = req.parsedBody;
      if (v === '2.0') {
        const { offset, limit, filters } = body;
        const page = await transactions(app.db, accountId, { ...range, offset, limit, filters });
        res.json({
          requestMetadata: { accountId, app: APP, attemptedStartTime, attemptedEndTime, filters },
          page: { count: page.length, offset, limit },
          transactions: page,
        });
        return;
      }
      const filters: ReportFilters = {
        channels: body.filters.channels ?? body.channels,
        skills: body.filters.skills ?? body.skills,
      };
      const offset = body.page ? pageToken.offset(body.page.nextPage) : 0;
      if (offset === null) {
        return sendLpError(res, 400, 'page.nextPage is not a page of this report.', 'INVALID_FIELD', {
          field: 'page.nextPage',
        });
      }
      const page = await transactions(app.db, accountId, { ...range, offset, limit: V1_PAGE_SIZE + 1, filters });
      const more = page.length > V1_PAGE_SIZE;
      const shown = page.slice(0, V1_PAGE_SIZE).map(({ messageStatus: _status, ...transaction }) => transaction);
      res.json({
        requestMetadata: {
          accountId,
          app: APP,
          attemptedStartTime,
          attemptedEndTime,
          filters: Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)),
        },
        page: {
          count: shown.length,
          currentPage: pageToken.of(offset),
          ...(more ? { nextPage: pageToken.of(offset + V1_PAGE_SIZE) } : {}),
        },
        transactions: shown,
      });
    },
  );
}
