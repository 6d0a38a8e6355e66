import type { Channel } from '../domain/account-settings.ts';
import * as campaign from '../domain/campaign.ts';
import * as message from '../domain/message.ts';
import { latestLegOn, proactiveText } from '../domain/proactive-legs.ts';
import { ConsumerKeyErasedError } from '../infra/personal-data.ts';
import type { ConversationDeps } from './conversations.ts';
import { foldStream } from './handler.ts';

/** How many of the consumer's latest sent messages are looked through for one that reached them on the channel. */
const CANDIDATES = 20;

export type LatestProactive = NonNullable<Awaited<ReturnType<typeof latestProactive>>>;

/**
 * The latest proactive message this account sent the consumer on `channel` (a WhatsApp reply belongs to the
 * message's WhatsApp send, a prioritized campaign's WhatsApp leg included): found through the campaign-messages
 * read model (which may lag its streams by moments), then read from its own streams, which say what was sent,
 * on which channel and when.
 */
export async function latestProactive(
  deps: Pick<ConversationDeps, 'db' | 'store'>,
  accountId: string,
  consumerRef: string,
  channel: Channel,
) {
  const rows = await deps
    .db('campaign_messages')
    .where({ account_id: accountId, consumer_ref: consumerRef })
    .whereNotNull('sent_at')
    .orderBy('sent_at', 'desc')
    .limit(CANDIDATES)
    .select<{ message_id: string; campaign_id: string }[]>('message_id', 'campaign_id');
  for (const row of rows) {
    const messageEvents = await deps.store.read(message.messageStream(row.message_id));
    const leg = latestLegOn(messageEvents, channel);
    if (!leg) continue;
    const messageState = foldStream(message, messageEvents);
    const campaignState = foldStream(campaign, await deps.store.read(campaign.campaignStream(row.campaign_id)));
    if (!campaignState.draft || !messageState.queued) continue;
    return {
      campaignId: row.campaign_id,
      messageId: row.message_id,
      channel,
      skillId: campaignState.draft.skillId,
      sentAt: new Date(leg.sentAt),
      lookbackHours: campaignState.draft.lookbackHours,
      routeAllWithinLookback: campaignState.draft.routeAllWithinLookback,
      responded: messageState.status === 'responded',
      draft: campaignState.draft,
      sealedRecipient: messageState.queued.sealed,
    };
  }
  return null;
}

/**
 * The first proactive message of a conversation it opened, as the consumer read it on that channel, sealed for
 * the campaign. A message sealed before the consumer's erasure cannot be opened: the conversation then opens
 * without it (null).
 */
export async function firstMessageOf(
  deps: Pick<ConversationDeps, 'personalData'>,
  accountId: string,
  consumerRef: string,
  latest: LatestProactive,
): Promise<{ sealed: string; sentAt: string; campaignName: string } | null> {
  const recipient = await deps.personalData
    .openFor<{ phone: string; variables: Record<string, string> }>(accountId, consumerRef, latest.sealedRecipient)
    .catch((error: unknown) => {
      if (error instanceof ConsumerKeyErasedError) return null;
      throw error;
    });
  if (!recipient) return null;
  const text = proactiveText(latest.draft, latest.channel, recipient.variables ?? {});
  return {
    sealed: await deps.personalData.sealFor(accountId, consumerRef, { text }, latest.campaignId),
    sentAt: latest.sentAt.toISOString(),
    campaignName: latest.draft.name,
  };
}
