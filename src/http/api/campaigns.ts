import type { Router } from 'express';
import { z } from 'zod';
import {
  cancelCampaign,
  checkConsentAndSchedule,
  type RecipientInput,
  requestSmsCampaign,
} from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { loadHandoff } from '../../app/handoffs.ts';
import { LP_MESSAGE_STATUS, lpConversationStatusOf } from '../../app/liveperson/outcomes.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { answerCreatedCampaign } from './campaign-answer.ts';
import {
  CAMPAIGN_STATUS,
  type CampaignRow,
  campaignStatusSchema,
  consumerOutcomes,
  consumerWithoutVariables,
  createCampaignBody,
  createdSchema,
  errorMessageOf,
  iso,
  type MessageRow,
  pageQuery,
  parseConsumer,
  windowFrom,
} from './campaign-shapes.ts';
import { createInAppCampaignFromApi, inAppChannelOf } from './campaigns-inapp.ts';
import { sendApiError } from './errors.ts';
import { type ApiGuards, type ApiRegistry, apiErrorSchema, defineApiRoute } from './registry.ts';
import { createWhatsAppCampaignFromApi, handoffHasWhatsApp } from './whatsapp-campaign.ts';

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
      const window = body.schedulingWindows ? windowFrom(body.schedulingWindows) : undefined;
      const now = new Date();
      const sendAt = body.sendAt === undefined ? undefined : new Date(body.sendAt);
      const handoff = await loadHandoff(app, accountId, body.templateId);
      if (handoff && handoffHasWhatsApp(handoff)) {
        checkConsentAndSchedule({ consent: body.consent, sendAt, now });
        return createWhatsAppCampaignFromApi(app, req, res, { body, config: handoff, sendAt, window, now });
      }
      if (handoff && inAppChannelOf(handoff)) {
        checkConsentAndSchedule({ consent: body.consent, sendAt, now });
        return createInAppCampaignFromApi(app, req, res, { body, config: handoff, sendAt, window, now });
      }
      const parsed = body.consumers.map(parseConsumer);
      const withoutVariables = consumerWithoutVariables(body.consumers);
      const created = await requestSmsCampaign(
        { ...app, personalData: app.channels.personalData },
        {
          accountId,
          name: body.campaignName,
          handoffId: body.templateId,
          skill: body.skill,
          ...(body.outboundNumber !== undefined ? { senderNumber: body.outboundNumber } : {}),
          source: 'api',
          consent: body.consent,
          consentStatement: body.consentStatement,
          recipients: parsed.map(
            (consumer): RecipientInput =>
              consumer.error
                ? { phone: null, rejected: consumer.error }
                : { phone: consumer.phone, variables: consumer.variables },
          ),
          ...(withoutVariables >= 0 ? { recipientWithoutVariables: withoutVariables } : {}),
          publish: true,
          // LivePerson sends a text its variables take past 140 characters as several messages.
          longTextAsSegments: true,
          sendAt,
          now,
          window,
        },
        { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
      );

      // Every consumer went to the use case (the refused ones as such), so outcomes are indexed as the body is.
      const everyConsumer = parsed.map((_, index) => ({ index }));
      await answerCreatedCampaign(
        app,
        req,
        res,
        { ...created, skillId: created.skillId! },
        consumerOutcomes(parsed, everyConsumer, created.outcomes),
      );
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
        const status = LP_MESSAGE_STATUS[group.status] ?? group.status.toUpperCase();
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
