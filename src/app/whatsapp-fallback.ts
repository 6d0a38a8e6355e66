import * as campaign from '../domain/campaign.ts';
import * as message from '../domain/message.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { foldStream, handleCommand } from './handler.ts';

/**
 * The prioritized channel's fallback on a missing receipt (F7), run by the worker every few seconds under the cron
 * lock: a WhatsApp message sent longer ago than its campaign's `fallbackTimeoutSeconds` without a delivery
 * receipt falls back to SMS (MessageFellBack), which then passes every SMS check. The message decider decides on
 * the message's own stream, so a receipt that came meanwhile wins.
 */
export async function fallBackOnMissingReceipts(deps: { store: EventStore; db: Db }, now: Date, limit = 1000) {
  const rows = await deps
    .db('campaign_messages')
    .where({ channel: 'whatsapp', status: 'sent' })
    .andWhere('sent_at', '<=', new Date(now.getTime() - 1000))
    .orderBy('sent_at')
    .limit(limit)
    .select<{ account_id: string; campaign_id: string; message_id: string; sent_at: Date }[]>(
      'account_id',
      'campaign_id',
      'message_id',
      'sent_at',
    );
  const timeouts = new Map<string, number | null>();
  let fellBack = 0;
  for (const row of rows) {
    if (!timeouts.has(row.campaign_id)) {
      const state = foldStream(campaign, await deps.store.read(campaign.campaignStream(row.campaign_id)));
      timeouts.set(row.campaign_id, state.draft?.whatsapp?.fallback?.timeoutSeconds ?? null);
    }
    const timeout = timeouts.get(row.campaign_id);
    if (!timeout || now.getTime() - row.sent_at.getTime() < timeout * 1000) continue;
    const ids = { accountId: row.account_id, campaignId: row.campaign_id, messageId: row.message_id };
    const result = await handleCommand(
      deps.store,
      message.messageStream(row.message_id),
      message,
      { type: 'FallBack', ...ids, now: now.toISOString() },
      { actor: 'system:whatsapp-fallback' },
    );
    fellBack += result.events.length;
  }
  return fellBack;
}
