import type { MessageRedactor } from '../channels/twilio-redaction.ts';
import * as campaign from '../domain/campaign.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { loadAccount } from './accounts.ts';
import { foldStream, handleCommand } from './handler.ts';

/**
 * Retention (F14): in an account with a retention period, a campaign that finished longer ago than that has its
 * recipients' numbers, variables and message texts shredded the way an erasure shreds a consumer. Its key goes
 * first (every copy sealed for the campaign, in events and read models, can no longer be opened), then the
 * provider's copies of its messages, then CampaignPersonalDataShredded tells the read models to drop their copies.
 * Counts, statuses, reasons and the campaign's own definition stay, so reports still add up.
 *
 * Campaigns sealed before campaign keys existed (format v1, the consumer's key alone) lose their read-model copies
 * and provider copies the same way; their events stay readable until the consumer is erased.
 */

export interface RetentionDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  personalData: PersonalData;
  redactor: MessageRedactor;
}

const DAY_MS = 86_400_000;
const TERMINAL = ['completed', 'cancelled', 'failed'];
/** Campaigns shredded per run and account; the next run takes the rest. */
const BATCH = 100;

/** The scheduler's job: shreds every campaign past its account's retention period; how many it shredded. */
export async function shredExpiredCampaigns(deps: RetentionDeps, now: Date): Promise<number> {
  const accountIds = (await deps.db('accounts').pluck('account_id')) as string[];
  let shredded = 0;
  for (const accountId of accountIds) {
    const { retentionDays } = (await loadAccount(deps, accountId)).settings;
    if (retentionDays === null) continue;
    const due: string[] = await deps
      .db('campaigns')
      .where({ account_id: accountId })
      .whereIn('status', TERMINAL)
      .whereNull('personal_data_shredded_at')
      .andWhere('finished_at', '<=', new Date(now.getTime() - retentionDays * DAY_MS))
      .orderBy('finished_at')
      .limit(BATCH)
      .pluck('campaign_id');
    for (const campaignId of due) {
      if (await shredCampaign(deps, { accountId, campaignId, retentionDays, now })) shredded += 1;
    }
  }
  return shredded;
}

/** Shreds one finished campaign's personal data; false when its stream refuses (not finished, or already done). */
export async function shredCampaign(
  deps: RetentionDeps,
  input: { accountId: string; campaignId: string; retentionDays: number; now: Date },
): Promise<boolean> {
  const { accountId, campaignId } = input;
  const stream = campaign.campaignStream(campaignId);
  const state = foldStream(campaign, await deps.store.read(stream));
  if (state.accountId !== accountId || !campaign.isTerminal(state.status) || state.personalDataShredded) return false;
  await deps.personalData.shredCampaign(accountId, campaignId);
  const sids = (await deps
    .db('campaign_messages')
    .where({ account_id: accountId, campaign_id: campaignId })
    .whereNotNull('provider_message_id')
    .pluck('provider_message_id')) as string[];
  try {
    const { failed } = await deps.redactor.redact(sids);
    if (failed.length > 0) {
      deps.log.warn({ accountId, campaignId, failed: failed.length }, 'retention: the provider kept some messages');
    }
  } catch (error) {
    deps.log.warn({ err: error, accountId, campaignId }, 'retention: redacting the provider’s copies failed');
  }
  try {
    const result = await handleCommand(
      deps.store,
      stream,
      campaign,
      {
        type: 'ShredPersonalData',
        accountId,
        campaignId,
        now: input.now.toISOString(),
        retentionDays: input.retentionDays,
      },
      { actor: 'system:retention' },
    );
    deps.log.info({ accountId, campaignId }, 'retention: campaign personal data shredded');
    return result.events.length > 0;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    deps.log.info({ accountId, campaignId, code: error.code }, 'retention: campaign not shredded');
    return false;
  }
}
