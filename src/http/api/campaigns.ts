import type { Router } from 'express';
import { z } from 'zod';
import { cancelCampaign, createSmsCampaign, type RecipientInput } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { foldStream } from '../../app/handler.ts';
import { loadHandoff } from '../../app/handoffs.ts';
import { lpConversationStatusOf } from '../../app/liveperson/outcomes.ts';
import * as account from '../../domain/account.ts';
import { findSkill } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { lookbackHours } from '../../domain/handoff.ts';
import { DEFAULT_OPT_OUT_TEXT } from '../../domain/sms.ts';
import { waitForProjection } from '../../projections/wait.ts';
import {
  CAMPAIGN_STATUS,
  type CampaignRow,
  campaignStatusSchema,
  consumerWithoutVariables,
  createCampaignBody,
  createdSchema,
  errorMessageOf,
  iso,
  leIdsOf,
  MAX_SCHEDULE_AHEAD_MS,
  MESSAGE_STATUS,
  type MessageRow,
  pageQuery,
  parseConsumer,
  phoneFrom,
  windowFrom,
} from './campaign-shapes.ts';
import { sendApiError } from './errors.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';

/** The handoff as the write side knows it (a just-created one counts), with its SMS channel and body. */
async function smsTemplateOf(app: AppContext, accountId: string, templateId: string) {
  const config = await loadHandoff(app, accountId, templateId);
  if (!config) {
    throw new DomainError('TEMPLATE_NOT_FOUND', 'templateId is not a handoff of this account.', 'templateId');
  }
  const channel = config.channels.find((candidate) => candidate.type === 'sms-twilio');
  const body = channel?.messageComponents.find((component) => component.type === 'body');
  if (!channel || !body) {
    throw new DomainError('TEMPLATE_HAS_NO_SMS', 'The handoff has no SMS channel with a body.', 'templateId');
  }
  return { config, channel, body };
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
      if (!body.consent) throw new DomainError('CONSENT_REQUIRED', 'consent must be true.', 'consent');
      let sendAt: Date | undefined;
      if (body.sendAt !== undefined) {
        sendAt = new Date(body.sendAt);
        if (sendAt.getTime() <= now.getTime() || sendAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_MS) {
          throw new DomainError('INVALID_FIELD', 'sendAt must be in the future, at most 90 days ahead.', 'sendAt');
        }
      }
      const window = body.schedulingWindows ? windowFrom(body.schedulingWindows) : undefined;
      const template = await smsTemplateOf(app, accountId, body.templateId);

      const accountState = foldStream(account, await app.store.read(account.accountStream(accountId)));
      const skill = findSkill(accountState.settings, body.skill);
      if (!skill) {
        throw new DomainError(
          'UNKNOWN_SKILL',
          `skill ${JSON.stringify(body.skill)} is not a skill of this account (by id or name).`,
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
          'outboundNumber',
        );
      }

      const withoutVariables = consumerWithoutVariables(body.consumers, template.body.content);
      if (withoutVariables >= 0) {
        return sendApiError(res, 400, 'FIELDS_MISSING', 'Fields missing in request: variables', {
          field: `consumers.${withoutVariables}.variables`,
        });
      }
      const parsed = body.consumers.map(parseConsumer);
      const usable = parsed.flatMap((consumer, index) => (consumer.error ? [] : [{ consumer, index }]));
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
          consentStatement: body.consentStatement,
          recipients: usable.map(
            ({ consumer }): RecipientInput => ({
              phone: consumer.phone,
              variables: consumer.variables,
            }),
          ),
          publish: true,
          // LivePerson sends a text its variables take past 140 characters as several messages.
          longTextAsSegments: true,
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
        .map(([index, consumer]) => {
          const { consumerContent } = parsed[index]!;
          return consumerContent === undefined ? consumer : { ...consumer, consumerContent };
        });
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
        ...leIdsOf(accountId, skill[0]),
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
          status: lpConversationStatusOf(message),
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
