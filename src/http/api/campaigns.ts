import type { Router } from 'express';
import { z } from 'zod';
import { cancelCampaign, createSmsCampaign, type RecipientInput } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { foldStream } from '../../app/handler.ts';
import { loadHandoff } from '../../app/handoffs.ts';
import * as account from '../../domain/account.ts';
import { WEEKDAYS, type WeeklyWindow } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { lookbackHours } from '../../domain/handoff.ts';
import { DEFAULT_OPT_OUT_TEXT, normalizePhone } from '../../domain/sms.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { sendApiError } from './errors.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

export const MAX_CONSUMERS_PER_REQUEST = 1000;
export const DAILY_RECIPIENT_CAP = 100_000;
const MAX_VARIABLE_LENGTH = 1550;
const MAX_SCHEDULE_AHEAD_MS = 90 * 24 * 3_600_000;

const hourMinute = z.object({ hour: z.number().int().min(0).max(24), minute: z.number().int().min(0).max(59) });
const schedulingWindowSchema = z.object({
  day: z.enum(WEEKDAYS.map((day) => day.toUpperCase()) as [string, ...string[]]),
  startTime: hourMinute,
  endTime: hourMinute,
});

/** The LivePerson Proactive 2.0 create-campaign body. Unknown fields are ignored, as LivePerson does. */
export const createCampaignBody = z.object({
  campaignName: z.string().trim().min(1).max(255),
  skill: z.union([z.string().trim().min(1).max(255), z.number().int().nonnegative()]).transform(String),
  templateId: z.string().trim().min(1).max(32),
  outboundNumber: z
    .union([z.string().trim().min(1).max(16), z.number().int().nonnegative()])
    .transform(String)
    .optional(),
  consent: z.boolean(),
  consumers: z.array(z.unknown()).min(1).max(MAX_CONSUMERS_PER_REQUEST),
  sendAt: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  schedulingWindows: z.array(schedulingWindowSchema).min(1).max(7).optional(),
});

const consumerContentSchema = z.object({
  sms: z.string().optional(),
  wa: z.string().optional(),
  inapp: z.unknown().optional(),
});
const acceptedConsumerSchema = z.object({
  id: z.string(),
  phoneNumber: z.string(),
  consumerContent: consumerContentSchema,
});
const failedConsumerSchema = z
  .object({
    phone: z.string().nullable(),
    countryCode: z.string().optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
    errorMessage: z.string(),
  })
  .catchall(z.unknown());
const createdSchema = z.object({
  proactiveCampaignId: z.string(),
  requestTraceId: z.string(),
  acceptedConsumers: z.array(acceptedConsumerSchema),
  failedConsumers: z.array(failedConsumerSchema),
});

/** Our statuses in LivePerson's vocabulary. */
export const CAMPAIGN_STATUS: Record<string, string> = {
  draft: 'DRAFT',
  scheduled: 'SCHEDULED',
  queued: 'QUEUED',
  in_progress: 'IN_PROGRESS',
  completed: 'FINISHED',
  cancelled: 'CANCELLED',
  failed: 'FAILED',
};
export const MESSAGE_STATUS: Record<string, string> = {
  queued: 'NOT_SENT',
  sending: 'NOT_SENT',
  retrying: 'NOT_SENT',
  deferred: 'SCHEDULED',
  sent: 'SENT',
  delivered: 'DELIVERED',
  read: 'READ',
  responded: 'RESPONDED',
  undelivered: 'FAILED',
  failed: 'FAILED',
  skipped: 'SKIPPED',
};

const campaignStatusSchema = z.object({
  proactiveCampaignId: z.string(),
  campaignName: z.string(),
  status: z.string(),
  channel: z.string(),
  outboundNumber: z.string(),
  skill: z.string().nullable(),
  createdAt: z.string(),
  sendAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  statusReason: z.string().nullable(),
  totalConsumers: z.number(),
  rejectedConsumers: z.number(),
  counts: z.record(z.string(), z.number()),
});

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

interface CampaignRow {
  campaign_id: string;
  name: string;
  status: string;
  channel: string;
  sender_address: string;
  skill: string | null;
  recipient_count: number;
  rejected_count: number;
  created_at: Date;
  send_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  status_reason: string | null;
}

interface MessageRow {
  message_id: string;
  status: string;
  reason: string | null;
  error_source: string | null;
  error_code: string | null;
  error_message: string | null;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** What went wrong for one recipient, in one line: the skip reason or the provider's code and message. */
export function errorMessageOf(row: MessageRow): string | null {
  if (row.status === 'skipped') return row.reason ? row.reason.toUpperCase().replace(/-/g, '_') : 'SKIPPED';
  if (row.status === 'failed' || row.status === 'undelivered') {
    return [row.error_code, row.error_message].filter(Boolean).join(': ') || 'FAILED';
  }
  return null;
}

/** A number as LivePerson sends it (digits with the country code, no `+`) or E.164. */
function phoneFrom(raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return normalizePhone(`+${raw}`);
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  return normalizePhone(/^\d+$/.test(text) ? `+${text}` : text);
}

interface ParsedConsumer {
  input: Record<string, unknown>;
  phone: unknown;
  phoneText: string | null;
  countryCode?: string;
  variables?: Record<string, unknown>;
  error?: string;
}

/** One consumer entry, in the current or the legacy (country code + number) form. */
function parseConsumer(raw: unknown): ParsedConsumer {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { input: {}, phone: null, phoneText: null, error: 'MISSING_CONSUMER_INFORMATION=SMS' };
  }
  const input = raw as Record<string, unknown>;
  const variables = input.variables;
  const parsed: ParsedConsumer = { input, phone: null, phoneText: null };
  if (variables !== undefined && variables !== null) {
    if (typeof variables !== 'object' || Array.isArray(variables)) return { ...parsed, error: 'VARIABLE_NOT_STRING=*' };
    parsed.variables = variables as Record<string, unknown>;
    for (const [name, value] of Object.entries(parsed.variables)) {
      if (typeof value === 'string' && value.length > MAX_VARIABLE_LENGTH)
        return { ...parsed, error: `VARIABLE_TOO_LONG=${name}` };
    }
  }
  const content = input.consumerContent;
  const sms = typeof content === 'object' && content !== null ? (content as Record<string, unknown>).sms : undefined;
  if (sms !== undefined && sms !== null && sms !== '') {
    return { ...parsed, phone: phoneFrom(sms) ?? sms, phoneText: typeof sms === 'string' ? sms : String(sms) };
  }
  const countryCode = input.consumerCountryCode;
  const number = input.consumerPhoneNumber;
  if (
    (typeof countryCode === 'string' || typeof countryCode === 'number') &&
    (typeof number === 'string' || typeof number === 'number')
  ) {
    const code = String(countryCode).replace(/^\+/, '').trim();
    const digits = String(number).trim();
    return {
      ...parsed,
      countryCode: code,
      phone: normalizePhone(`+${code}${digits.replace(/^0+/, '')}`) ?? `${code}${digits}`,
      phoneText: digits,
    };
  }
  return { ...parsed, error: 'MISSING_CONSUMER_INFORMATION=SMS' };
}

/** LivePerson's schedulingWindows as our weekly window; days not listed are closed. */
function windowFrom(windows: z.infer<typeof schedulingWindowSchema>[]): WeeklyWindow {
  const result = Object.fromEntries(WEEKDAYS.map((day) => [day, null])) as WeeklyWindow;
  const time = (at: { hour: number; minute: number }) =>
    `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`;
  for (const [index, entry] of windows.entries()) {
    const day = entry.day.toLowerCase() as (typeof WEEKDAYS)[number];
    const field = `schedulingWindows.${index}`;
    if (result[day]) throw new DomainError('INVALID_FIELD', `${entry.day} is listed twice.`, 400, `${field}.day`);
    const start = time(entry.startTime);
    const end = time(entry.endTime);
    if (entry.startTime.hour === 24 || (entry.endTime.hour === 24 && entry.endTime.minute !== 0)) {
      throw new DomainError('INVALID_FIELD', 'Times run from 00:00 to 24:00.', 400, field);
    }
    if (start >= end) throw new DomainError('INVALID_FIELD', 'startTime must be before endTime.', 400, field);
    result[day] = { start, end };
  }
  return result;
}

/** The handoff as the write side knows it (a just-created one counts), with its SMS channel and body. */
async function smsTemplateOf(app: AppContext, accountId: string, templateId: string) {
  const config = await loadHandoff(app, accountId, templateId);
  if (!config) {
    throw new DomainError('TEMPLATE_NOT_FOUND', 'templateId is not a handoff of this account.', 400, 'templateId');
  }
  const channel = config.channels.find((candidate) => candidate.type === 'sms-twilio');
  const body = channel?.messageComponents.find((component) => component.type === 'body');
  if (!channel || !body) {
    throw new DomainError('TEMPLATE_HAS_NO_SMS', 'The handoff has no SMS channel with a body.', 400, 'templateId');
  }
  return { config, channel, body };
}

/** The recipients this account may still send today on SMS: the cap less what was sent and what still waits. */
async function dailyHeadroom(app: AppContext, accountId: string, now: Date): Promise<number> {
  const [sent, waiting] = await Promise.all([
    app
      .db('daily_send_counters')
      .where({ account_id: accountId, channel: 'sms', day: now.toISOString().slice(0, 10) })
      .first<{ count: number } | undefined>('count'),
    app
      .db('campaign_messages')
      .where({ account_id: accountId, channel: 'sms' })
      .whereIn('status', ['queued', 'deferred', 'retrying', 'sending'])
      .count<{ count: string }[]>('* as count'),
  ]);
  return DAILY_RECIPIENT_CAP - (sent?.count ?? 0) - Number(waiting[0]?.count ?? 0);
}

async function campaignRow(app: AppContext, accountId: string, campaignId: string) {
  return app.db('campaigns').where({ account_id: accountId, campaign_id: campaignId }).first<CampaignRow | undefined>();
}

function notFound(res: Parameters<typeof sendApiError>[0]): void {
  sendApiError(res, 404, 'CAMPAIGN_NOT_FOUND', 'No such campaign in this account.');
}

/** The LivePerson-compatible campaign API: create, status, per-recipient conversations, cancel. */
export function campaignApiRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards): void {
  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/campaign',
      summary: 'Create and publish an SMS campaign (LivePerson Proactive 2.0 shape)',
      scope: 'campaigns:write',
      body: createCampaignBody,
      responses: {
        201: { description: 'The campaign, with each consumer accepted or failed with a code', schema: createdSchema },
        400: { description: 'A field is missing or invalid', schema: apiErrorSchema },
        422: { description: 'The daily recipient cap would be exceeded', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const body = req.parsedBody;
      const now = new Date();
      if (!body.consent) throw new DomainError('CONSENT_REQUIRED', 'consent must be true.', 400, 'consent');
      let sendAt: Date | undefined;
      if (body.sendAt !== undefined) {
        sendAt = new Date(body.sendAt);
        if (sendAt.getTime() <= now.getTime() || sendAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_MS) {
          throw new DomainError('INVALID_FIELD', 'sendAt must be in the future, at most 90 days ahead.', 400, 'sendAt');
        }
      }
      const window = body.schedulingWindows ? windowFrom(body.schedulingWindows) : undefined;
      const template = await smsTemplateOf(app, accountId, body.templateId);

      const accountState = foldStream(account, await app.store.read(account.accountStream(accountId)));
      const skill = Object.entries(accountState.settings.skills).find(
        ([id, candidate]) => id === body.skill || candidate.name.toLowerCase() === body.skill.toLowerCase(),
      );
      if (!skill) {
        throw new DomainError(
          'UNKNOWN_SKILL',
          `skill ${JSON.stringify(body.skill)} is not a skill of this account (by id or name).`,
          400,
          'skill',
        );
      }
      const outbound = body.outboundNumber ?? template.channel.outboundnumber;
      if (!outbound) {
        return sendApiError(res, 400, 'FIELDS_MISSING', 'Fields missing in request: outboundNumber', {
          field: 'outboundNumber',
        });
      }
      const senderAddress = phoneFrom(outbound);
      const sender = Object.entries(accountState.settings.senders).find(
        ([, candidate]) => candidate.channel === 'sms' && candidate.address === senderAddress,
      );
      if (!sender) {
        throw new DomainError(
          'UNKNOWN_SENDER',
          'outboundNumber is not an SMS sender of this account.',
          400,
          'outboundNumber',
        );
      }

      const parsed = body.consumers.map(parseConsumer);
      const usable = parsed.flatMap((consumer, index) => (consumer.error ? [] : [{ consumer, index }]));
      if ((await dailyHeadroom(app, accountId, now)) < usable.length) {
        throw new DomainError(
          'DAILY_LIMIT_EXCEEDED',
          `At most ${DAILY_RECIPIENT_CAP.toLocaleString('en-US')} SMS recipients per day per account; this campaign would exceed it.`,
          422,
          'consumers',
        );
      }
      const created = await createSmsCampaign(
        { ...app, personalData: app.channels.personalData },
        {
          accountId,
          name: body.campaignName,
          senderId: sender[0],
          text: template.body.content,
          optOutText: template.body.optOut ?? DEFAULT_OPT_OUT_TEXT,
          skillId: skill[0],
          lookbackHours: lookbackHours(template.config),
          routeAllWithinLookback: template.config.routeAllWithinLookback,
          source: 'api',
          handoffId: body.templateId,
          consent: body.consent,
          recipients: usable.map(
            ({ consumer }): RecipientInput => ({
              phone: consumer.phone,
              variables: consumer.variables,
            }),
          ),
          publish: true,
          sendAt,
          window,
          now,
        },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );

      const errors = new Map<number, string>();
      const accepted = new Map<number, { id: string; phoneNumber: string }>();
      for (const [index, consumer] of parsed.entries()) if (consumer.error) errors.set(index, consumer.error);
      for (const outcome of created.outcomes) {
        const index = usable[outcome.index]!.index;
        if (outcome.error) errors.set(index, outcome.error);
        else accepted.set(index, { id: outcome.messageId!, phoneNumber: outcome.phoneNumber! });
      }
      const acceptedConsumers = [...accepted.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, consumer]) => ({ ...consumer, consumerContent: { sms: consumer.phoneNumber } }));
      const failedConsumers = [...errors.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, errorMessage]) => {
          const consumer = parsed[index]!;
          return {
            ...consumer.input,
            phone: consumer.phoneText,
            ...(consumer.countryCode ? { countryCode: consumer.countryCode } : {}),
            ...(consumer.variables ? { variables: consumer.variables } : {}),
            errorMessage,
          };
        });
      if (created.position) {
        await waitForProjection(app.db, ['campaigns', 'campaign-messages'], created.position, { timeoutMs: 2000 });
      }
      res.status(201).json({
        proactiveCampaignId: created.campaignId,
        requestTraceId: req.requestTraceId,
        acceptedConsumers,
        failedConsumers,
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/campaign/:id',
      summary: 'A campaign’s status and per-status counts',
      scope: 'campaigns:read',
      responses: {
        200: { description: 'Status and counts', schema: campaignStatusSchema },
        404: { description: 'No such campaign in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const row = await campaignRow(app, accountId, String(req.params.id));
      if (!row) return notFound(res);
      const grouped = await app
        .db('campaign_messages')
        .where({ account_id: accountId, campaign_id: row.campaign_id })
        .groupBy('status')
        .select('status')
        .count<{ status: string; count: string }[]>('* as count');
      const counts: Record<string, number> = {};
      for (const group of grouped) {
        const status = MESSAGE_STATUS[group.status] ?? group.status.toUpperCase();
        counts[status] = (counts[status] ?? 0) + Number(group.count);
      }
      res.json({
        proactiveCampaignId: row.campaign_id,
        campaignName: row.name,
        status: CAMPAIGN_STATUS[row.status] ?? row.status.toUpperCase(),
        channel: row.channel,
        outboundNumber: row.sender_address,
        skill: row.skill,
        createdAt: row.created_at.toISOString(),
        sendAt: iso(row.send_at),
        startedAt: iso(row.started_at),
        finishedAt: iso(row.finished_at),
        statusReason: row.status_reason,
        totalConsumers: row.recipient_count,
        rejectedConsumers: row.rejected_count,
        counts,
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/campaign/:id/conversations',
      summary: 'Per-recipient status of a campaign, in LivePerson’s vocabulary',
      scope: 'campaigns:read',
      query: pageQuery,
      responses: {
        200: {
          description: 'The campaign status and a page of its recipients, in the order they were accepted',
          schema: z.object({
            campaignStatus: z.string(),
            conversations: z.array(
              z.object({
                id: z.string(),
                status: z.string(),
                conversationId: z.string().nullable(),
                errorMessage: z.string().nullable(),
              }),
            ),
            page: z.object({ count: z.number(), currentOffset: z.number(), nextOffset: z.number().nullable() }),
          }),
        },
        404: { description: 'No such campaign in this account', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const row = await campaignRow(app, accountId, String(req.params.id));
      if (!row) return notFound(res);
      const { limit, offset } = req.parsedQuery;
      const rows = await app
        .db('campaign_messages')
        .where({ account_id: accountId, campaign_id: row.campaign_id })
        .orderBy('seq')
        .limit(limit + 1)
        .offset(offset)
        .select<(MessageRow & { conversation_id?: string | null })[]>('*');
      const page = rows.slice(0, limit);
      res.json({
        campaignStatus: CAMPAIGN_STATUS[row.status] ?? row.status.toUpperCase(),
        conversations: page.map((message) => ({
          id: message.message_id,
          status: MESSAGE_STATUS[message.status] ?? message.status.toUpperCase(),
          conversationId: message.conversation_id ?? null,
          errorMessage: errorMessageOf(message),
        })),
        page: { count: page.length, currentOffset: offset, nextOffset: rows.length > limit ? offset + limit : null },
      });
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'post',
      path: '/campaign/:id/cancel',
      summary: 'Cancel a scheduled, queued or running campaign; unsent recipients are skipped as cancelled',
      scope: 'campaigns:write',
      responses: {
        200: {
          description: 'The campaign is cancelled',
          schema: z.object({ proactiveCampaignId: z.string(), status: z.literal('CANCELLED') }),
        },
        404: { description: 'No such campaign in this account', schema: apiErrorSchema },
        409: { description: 'The campaign has finished, or was never published', schema: apiErrorSchema },
      },
    },
    async (req, res) => {
      const accountId = String(req.params.accountId);
      const campaignId = String(req.params.id);
      if (!(await campaignRow(app, accountId, campaignId))) return notFound(res);
      const result = await cancelCampaign(
        app,
        { accountId, campaignId, cancelledBy: req.apiClient!.clientId, reason: 'Cancelled through the API' },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );
      if (result.position) await waitForProjection(app.db, 'campaigns', result.position, { timeoutMs: 2000 });
      res.json({ proactiveCampaignId: campaignId, status: 'CANCELLED' });
    },
  );
}
