import type { MessageEvent } from '../src/domain/message.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

interface Patch {
  account_id: string;
  message_id: string;
  revision: number;
  updated_at: string;
  status?: string;
  reason?: string | null;
  error_source?: string | null;
  error_code?: string | null;
  error_message?: string | null;
  provider_message_id?: string;
  attempts?: number;
  deferred_until?: string | null;
  sent_at?: string;
  conversation_id?: string;
  channel?: string;
}

const STATUS_OF: Record<string, string> = {
  MessageDeferred: 'deferred',
  MessageSkipped: 'skipped',
  MessageSendStarted: 'sending',
  MessageSent: 'sent',
  MessageDelivered: 'delivered',
  MessageRead: 'read',
  MessageUndelivered: 'undelivered',
  MessageResponded: 'responded',
  MessageFellBack: 'queued',
};

/** Statuses past delivery: a later failed attempt (the fallback SMS after WhatsApp's late receipt) does not undo them. */
const DELIVERED = ['delivered', 'read', 'responded'];

function patchFor(event: MessageEvent, into: Patch): void {
  switch (event.type) {
    case 'MessageDeferred':
      into.deferred_until = event.data.until;
      break;
    case 'MessageSkipped':
      into.reason = event.data.reason;
      break;
    case 'MessageSendStarted':
      into.attempts = event.data.attempt;
      break;
    case 'MessageSent':
      into.provider_message_id = event.data.providerMessageId;
      into.sent_at = event.data.sentAt;
      break;
    case 'MessageSendFailed':
      // A fallback SMS that fails after WhatsApp's late receipt leaves the message delivered (by WhatsApp).
      into.status = event.data.retryable ? 'queued' : DELIVERED.includes(into.status ?? '') ? into.status : 'failed';
      into.error_source = event.data.source;
      into.error_code = event.data.code;
      into.error_message = event.data.message;
      if (event.data.retryable) into.deferred_until = event.data.retryAt;
      return;
    case 'MessageReconcileDeferred':
      // Still sending; the reason it is not settled yet shows as its last error.
      into.error_source = 'system';
      into.error_code = event.data.code;
      into.error_message = event.data.message;
      break;
    case 'MessageResponded':
      into.conversation_id = event.data.conversationId;
      break;
    case 'MessageFellBack':
      into.channel = event.data.to;
      break;
    case 'MessageUndelivered':
      into.error_source = 'provider';
      into.error_code = event.data.code;
      into.error_message = event.data.message;
      break;
    default:
      break;
  }
  const status = STATUS_OF[event.type];
  if (status) into.status = status;
}

/**
 * Each recipient's message: status, skip reason and the provider's error. Written in two statements per batch (one
 * multi-row insert, one multi-row update), and guarded by the event revision, so a repeated or late event never
 * moves a row backwards.
 */
export const campaignMessagesProjection: Projection = {
  name: 'campaign-messages',
  tables: ['campaign_messages'],
  handles: [
    'MessageQueued',
    'MessageDeferred',
    'MessageSkipped',
    'MessageSendStarted',
    'MessageSent',
    'MessageSendFailed',
    'MessageReconcileDeferred',
    'MessageDelivered',
    'MessageRead',
    'MessageUndelivered',
    'MessageResponded',
    'MessageFellBack',
    'CampaignPersonalDataShredded',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    const inserts: Record<string, unknown>[] = [];
    const patches = new Map<string, Patch>();
    const shredded: { accountId: string; campaignId: string }[] = [];
    for (const recorded of events) {
      if (recorded.type === 'CampaignPersonalDataShredded') {
        shredded.push({ accountId: String(recorded.data.accountId), campaignId: String(recorded.data.campaignId) });
        continue;
      }
      const event = recorded as unknown as MessageEvent & RecordedEvent;
      const { accountId, campaignId, messageId } = event.data;
      if (event.type === 'MessageQueued') {
        inserts.push({
          account_id: accountId,
          campaign_id: campaignId,
          message_id: messageId,
          seq: Number(messageId.slice(messageId.lastIndexOf('.') + 1)),
          consumer_ref: event.data.consumerRef,
          // Sealed with the consumer's key, as in the event: the campaign page opens it, erasure makes it unreadable.
          sealed: event.data.sealed,
          channel: event.data.channel,
          status: 'queued',
          queued_at: recorded.createdAt,
          updated_at: recorded.createdAt,
          revision: recorded.revision,
        });
        continue;
      }
      const key = `${accountId}\u0000${messageId}`;
      const patch = patches.get(key) ?? { account_id: accountId, message_id: messageId, revision: 0, updated_at: '' };
      patchFor(event, patch);
      patch.revision = recorded.revision;
      patch.updated_at = recorded.createdAt.toISOString();
      patches.set(key, patch);
    }
    for (let start = 0; start < inserts.length; start += 1000) {
      await trx(table('campaign_messages'))
        .insert(inserts.slice(start, start + 1000))
        .onConflict(['account_id', 'message_id'])
        .ignore();
    }
    const rows = [...patches.values()];
    for (let start = 0; start < rows.length; start += 1000) {
      await trx.raw(
        `update ?? as m set
           status = case when p.status = 'failed' and m.status = any(?) then m.status else coalesce(p.status, m.status) end,
           reason = coalesce(p.reason, m.reason),
           error_source = coalesce(p.error_source, m.error_source),
           error_code = coalesce(p.error_code, m.error_code),
           error_message = coalesce(p.error_message, m.error_message),
           provider_message_id = coalesce(p.provider_message_id, m.provider_message_id),
           attempts = coalesce(p.attempts, m.attempts),
           deferred_until = coalesce(p.deferred_until, m.deferred_until),
           sent_at = coalesce(p.sent_at, m.sent_at),
           conversation_id = coalesce(p.conversation_id, m.conversation_id),
           channel = coalesce(p.channel, m.channel),
           updated_at = p.updated_at,
           revision = p.revision
         from jsonb_to_recordset(?::jsonb) as p(
           account_id text, message_id text, revision int, updated_at timestamptz, status text, reason text,
           error_source text, error_code text, error_message text, provider_message_id text, attempts int,
           deferred_until timestamptz, sent_at timestamptz, conversation_id text, channel text)
         where m.account_id = p.account_id and m.message_id = p.message_id and m.revision < p.revision`,
        [table('campaign_messages'), DELIVERED, JSON.stringify(rows.slice(start, start + 1000))],
      );
    }
    // Retention (F14): the campaign's copies of its recipients go; statuses, reasons and counts stay.
    for (const { accountId, campaignId } of shredded) {
      await trx(table('campaign_messages'))
        .where({ account_id: accountId, campaign_id: campaignId })
        .update({ sealed: null });
    }
  },
};
