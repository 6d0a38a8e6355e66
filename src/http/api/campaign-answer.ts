import type { Request, Response } from 'express';
import type { AppContext } from '../../app/context.ts';
import type { GlobalPosition } from '../../eventstore/port.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { leIdsOf } from './campaign-shapes.ts';

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
