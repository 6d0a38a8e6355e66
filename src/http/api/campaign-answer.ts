import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import type { WeeklyWindow } from '../../domain/account-settings.ts';
import { type HandoffConfig, lookbackHours } from '../../domain/handoff.ts';
import type { GlobalPosition } from '../../eventstore/port.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { type createCampaignBody, leIdsOf } from './campaign-shapes.ts';

/** A campaign request on a handoff whose first channel is not SMS, as POST /campaign hands it on. */
export interface ApiCampaignInput {
  body: z.infer<typeof createCampaignBody>;
  config: HandoffConfig;
  sendAt?: Date;
  window?: WeeklyWindow;
  now: Date;
}

/**
 * What every channel's campaign takes from an API request alike: the account, name and skill, the handoff's
 * conversation routing, consent, and publishing now or at `sendAt` within the window.
 */
export function apiCampaignFields(req: Request, input: ApiCampaignInput, skillId: string) {
  const { body, config } = input;
  return {
    accountId: String(req.params.accountId),
    name: body.campaignName,
    skillId,
    lookbackHours: lookbackHours(config),
    routeAllWithinLookback: config.routeAllWithinLookback,
    source: 'api' as const,
    handoffId: body.templateId,
    consent: body.consent,
    consentStatement: body.consentStatement,
    publish: true,
    sendAt: input.sendAt,
    window: input.window,
    now: input.now,
  };
}

/**
 * The 201 answer to a created campaign on every channel, in LivePerson's shape. It waits (at most 2 s) for the
 * campaign's read models, so that a status request right after the answer finds the campaign and its consumers.
 */
export async function answerCreatedCampaign(
  app: AppContext,
  req: Request,
  res: Response,
  created: { campaignId: string; position: GlobalPosition | null; skillId: string },
  consumers: { acceptedConsumers: unknown[]; failedConsumers: unknown[] },
): Promise<void> {
  if (created.position) {
    await waitForProjection(app.db, ['campaigns', 'campaign-messages'], created.position, { timeoutMs: 2000 });
  }
  res.status(201).json({
    proactiveCampaignId: created.campaignId,
    ...leIdsOf(String(req.params.accountId), created.skillId),
    requestTraceId: req.requestTraceId,
    acceptedConsumers: consumers.acceptedConsumers,
    failedConsumers: consumers.failedConsumers,
  });
}
