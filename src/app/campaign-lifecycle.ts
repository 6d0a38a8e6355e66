import * as campaign from '../domain/campaign.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

/**
 * A campaign's life after it is drafted (F20): publish (now or at a time), the scheduler's start of what is due,
 * cancel. Creating a campaign is in campaigns.ts.
 */

interface LifecycleDeps {
  store: EventStore;
  db: Db;
}

export async function publishCampaign(
  deps: Pick<LifecycleDeps, 'store'>,
  input: { accountId: string; campaignId: string; sendAt?: Date; now?: Date },
  context: CommandContext,
) {
  const now = (input.now ?? new Date()).toISOString();
  const stream = campaign.campaignStream(input.campaignId);
  const published = await handleCommand(
    deps.store,
    stream,
    campaign,
    {
      type: 'Publish',
      accountId: input.accountId,
      campaignId: input.campaignId,
      now,
      sendAt: input.sendAt?.toISOString(),
    },
    context,
  );
  if (published.events.some((event) => event.type === 'CampaignScheduled')) return published;
  // "Send now": the campaign starts at once; the expander then queues its recipients.
  return handleCommand(
    deps.store,
    stream,
    campaign,
    { type: 'Start', accountId: input.accountId, campaignId: input.campaignId, now },
    context,
  );
}

export function cancelCampaign(
  deps: Pick<LifecycleDeps, 'store'>,
  input: { accountId: string; campaignId: string; cancelledBy: string; reason?: string },
  context: CommandContext,
) {
  return handleCommand(
    deps.store,
    campaign.campaignStream(input.campaignId),
    campaign,
    {
      type: 'Cancel',
      accountId: input.accountId,
      campaignId: input.campaignId,
      cancelledBy: input.cancelledBy,
      reason: input.reason ?? 'Cancelled by a user',
    },
    context,
  );
}

/** A campaign as its stream says (the write side's view, not a read model). */
export async function loadCampaign(deps: Pick<LifecycleDeps, 'store'>, campaignId: string) {
  return foldStream(campaign, await deps.store.read(campaign.campaignStream(campaignId)));
}

/**
 * The scheduler's job (F20): starts every scheduled campaign whose time has come. A campaign cancelled or
 * started meanwhile is refused by its decider; that is logged and the others go on.
 */
export async function startDueCampaigns(
  deps: Pick<LifecycleDeps, 'store' | 'db'> & { log: Logger },
  now: Date,
): Promise<number> {
  const due = await deps
    .db('campaigns')
    .where('status', 'scheduled')
    .andWhere('send_at', '<=', now)
    .select('account_id', 'campaign_id');
  let started = 0;
  for (const row of due) {
    const ids = { accountId: row.account_id as string, campaignId: row.campaign_id as string };
    try {
      const result = await handleCommand(
        deps.store,
        campaign.campaignStream(ids.campaignId),
        campaign,
        { type: 'Start', ...ids, now: now.toISOString() },
        { actor: 'system:scheduler' },
      );
      if (result.events.length > 0) started += 1;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      deps.log.info({ ...ids, code: error.code }, 'a scheduled campaign was not started');
    }
  }
  return started;
}
