import { z } from 'zod';
import { LP_MESSAGE_STATUSES } from '../../../app/liveperson/outcomes.ts';

/** The request and answer shapes of LivePerson's Outbound Reporting API, as its documents give them. */

export const APP = 'prmsg';
export const MAX_ANALYTICS_MS = 60 * 24 * 3_600_000;
export const MAX_TRANSACTIONS_MS = 24 * 3_600_000;

const epochMs = z
  .string()
  .trim()
  .regex(/^\d{1,15}$/, 'epoch milliseconds')
  .transform(Number);

export const timeRangeQuery = z.object({ attemptedStartTime: epochMs, attemptedEndTime: epochMs });
/** Version 2.0 says `v=2.0`; version 1.0 (deprecated by LivePerson, still served) has no `v`, or `v=1.0`. */
export const transactionsQuery = timeRangeQuery.extend({
  v: z.enum(['1.0', '2.0'], { error: 'v must be 2.0 (or 1.0, deprecated)' }).default('1.0'),
});
export const V1_PAGE_SIZE = 1000;

/** Version 1.0's opaque page token: where the next page starts. */
export const pageToken = {
  of: (offset: number) => Buffer.from(`offset:${offset}`).toString('base64'),
  offset(token: string): number | null {
    const match = /^offset:(\d{1,9})$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    return match ? Number(match[1]) : null;
  },
};
export const campaignReportQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const names = z.array(z.string().trim().min(1).max(255)).max(100);
const filterFields = {
  channels: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .pipe(z.enum(['sms', 'wa', 'inapp'])),
    )
    .max(10)
    .optional(),
  skills: names.optional(),
  handoffids: names.optional(),
  source: z
    .array(
      z
        .string()
        .trim()
        .toUpperCase()
        .pipe(z.enum(['API', 'UI', 'LPWF'])),
    )
    .max(10)
    .optional(),
};
const analyticsFilters = z.object(filterFields);

/** The filters at the top of the body, as the current document has them, or under `filters` (the older form). */
export const analyticsBody = analyticsFilters
  .extend({ filters: analyticsFilters.optional() })
  .transform(({ filters, ...top }) => filters ?? top);

/**
 * Both versions' bodies. 2.0: `{offset, limit, filters{channels, skills, messagestatus, transactionids}}`.
 * 1.0: `{channels, skills}`, or `{filters{channels, skills}, page{nextPage}}` for the pages after the first.
 */
export const transactionsBody = z.object({
  ...filterFields,
  page: z.object({ nextPage: z.string().max(200) }).optional(),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(5000).default(100),
  filters: z
    .object({
      ...filterFields,
      messagestatus: z
        .array(
          z
            .string()
            .trim()
            .toUpperCase()
            .pipe(z.enum(LP_MESSAGE_STATUSES as [string, ...string[]])),
        )
        .max(10)
        .optional(),
      transactionids: z.array(z.string().trim().min(1).max(100)).max(1000).optional(),
    })
    .default({}),
});

/** One day's counts of a channel and skill, as both reporting APIs (LivePerson's and ours) answer them. */
export const analyticsCounts = z.object({
  channel: z.string(),
  skill: z.string().nullable(),
  transactionday: z.string(),
  attempted: z.number(),
  eligible: z.number(),
  skipped: z.number(),
  sent: z.number(),
  failed: z.number(),
  delivered: z.number(),
  read: z.number(),
  conversationscreated: z.number(),
  conversationsclosed: z.number(),
  error_aggregation: z.record(z.string(), z.number()),
});

const analyticsEntry = analyticsCounts.extend({
  transactionday: z.string().describe('MM-DD-YYYY (UTC)'),
  handoffid: z.string().nullable().optional(),
  source: z.string().optional(),
  csat: z.null(),
});

const timeMetadata = {
  accountId: z.string(),
  app: z.literal(APP),
  attemptedStartTime: z.number().nullable(),
  attemptedEndTime: z.number().nullable(),
};

export const analyticsAnswer = z.object({
  requestMetadata: z.object({ ...timeMetadata, filters: z.record(z.string(), z.unknown()).optional() }),
  analytics: z.array(analyticsEntry),
});

export const campaignAnalyticsAnswer = z.object({
  requestMetadata: z.object({ ...timeMetadata, proactiveCampaignId: z.string() }),
  analytics: z.array(analyticsEntry),
});

export const campaignReportAnswer = z.object({
  requestMetadata: z.object({ accountId: z.string(), app: z.literal(APP), proactiveCampaignId: z.string() }),
  page: z.object({
    count: z.number(),
    previousOffset: z.number().describe('-1 on the first page'),
    currentOffset: z.number(),
    nextOffset: z.number().describe('-1 on the last page'),
  }),
  consumersReport: z.array(
    z.object({
      id: z.string(),
      errorCode: z.string().nullable(),
      errorMessage: z.string().nullable(),
      errorSource: z.string().nullable(),
      status: z.string(),
      consumerId: z.string(),
      conversationId: z.string().nullable(),
      segments: z.number().describe('the messages the text went out as (over 140 characters: several)'),
    }),
  ),
});

const time = z.string().nullable();
export const transactionsAnswer = z.object({
  requestMetadata: z.object({ ...timeMetadata, filters: z.record(z.string(), z.unknown()) }),
  page: z.object({ count: z.number(), offset: z.number(), limit: z.number() }),
  transactions: z.array(
    z.object({
      channel: z.string(),
      skill: z.string().nullable(),
      transactionId: z.string(),
      attemptedTime: time,
      cancelledTime: time,
      conversationId: z.string().nullable(),
      conversationsClosedTime: time,
      conversationsCreatedTime: time,
      consumerId: z.string(),
      deliveredTime: time,
      eligibleTime: time,
      errorCode: z.string().nullable(),
      errorMessage: z.string().nullable(),
      errorSource: z.string().nullable(),
      failedTime: time,
      inviteTime: time,
      optInsTime: time,
      optOutsTime: time,
      proactiveCampaignId: z.string(),
      readTime: time,
      sentTime: time,
      initialSkill: z.string().nullable(),
      initialChannel: z.string(),
      handOffId: z.string().nullable(),
      skippedTime: time,
      ivrNumber: z.string(),
      messageStatus: z.string(),
      segments: z.number(),
    }),
  ),
});

export const transactionsV1Answer = z.object({
  requestMetadata: transactionsAnswer.shape.requestMetadata,
  page: z.object({ count: z.number(), currentPage: z.string(), nextPage: z.string().optional() }),
  transactions: z.array(transactionsAnswer.shape.transactions.element.omit({ messageStatus: true })),
});

export const lpErrorSchema = z.object({
  code: z.number().describe('LivePerson’s code (0)'),
  message: z.string(),
  requestTraceId: z.string().nullable(),
  outboundCode: z.string().describe('Outbound’s own stable code'),
  field: z.string().optional(),
});
