import type { Knex } from 'knex';
import type { RecordedEvent } from '../src/eventstore/port.ts';

/** Which channel a message's events count under, for the projections that count per channel. */

export interface MessageChannel {
  account_id: string;
  message_id: string;
  channel: string;
  whatsapp_provider_message_id: string | null;
}

/**
 * The channel each event of a batch counts under. Message events other than MessageQueued do not name their
 * channel: it is the message's, as MessageQueued set it and MessageFellBack changed it, kept in the calling
 * projection's own table (`into`, with the columns of MessageChannel); a receipt for the WhatsApp send of a message
 * that fell back to SMS still counts under WhatsApp. The projection must handle MessageQueued and MessageFellBack,
 * and call `save()` in its transaction.
 */
export async function messageChannels(events: RecordedEvent[], trx: Knex.Transaction, into: string) {
  const keyOf = (data: { accountId?: unknown; messageId?: unknown }) => `${data.accountId}\u0000${data.messageId}`;
  const pairs = new Map<string, [string, string]>();
  for (const event of events) {
    const data = event.data as { accountId?: string; messageId?: string };
    if (event.type.startsWith('Message') && data.accountId && data.messageId) {
      pairs.set(keyOf(data), [data.accountId, data.messageId]);
    }
  }
  const known = new Map<string, MessageChannel>();
  for (const chunk of chunks([...pairs.values()], 1000)) {
    const found = await trx(into).whereIn(['account_id', 'message_id'], chunk).select<MessageChannel[]>('*');
    for (const row of found) known.set(keyOf({ accountId: row.account_id, messageId: row.message_id }), row);
  }
  const changed = new Map<string, MessageChannel>();
  return {
    apply(event: RecordedEvent): string {
      const data = event.data as {
        accountId?: string;
        messageId?: string;
        channel?: string;
        to?: string;
        providerMessageId?: string;
      };
      const key = keyOf(data);
      let row = event.type.startsWith('Message') ? known.get(key) : undefined;
      if (event.type === 'MessageQueued' && !row && data.accountId && data.messageId) {
        row = {
          account_id: data.accountId,
          message_id: data.messageId,
          channel: data.channel ?? 'sms',
          whatsapp_provider_message_id: null,
        };
        known.set(key, row);
        changed.set(key, row);
      }
      if (!row) return data.channel ?? 'sms';
      const channel =
        data.providerMessageId && data.providerMessageId === row.whatsapp_provider_message_id
          ? 'whatsapp'
          : row.channel;
      if (event.type === 'MessageSent' && row.channel === 'whatsapp' && data.providerMessageId) {
        row.whatsapp_provider_message_id = data.providerMessageId;
        changed.set(key, row);
      } else if (event.type === 'MessageFellBack' && data.to) {
        row.channel = data.to;
        changed.set(key, row);
      }
      return channel;
    },
    async save() {
      for (const chunk of chunks([...changed.values()], 1000)) {
        await trx(into).insert(chunk).onConflict(['account_id', 'message_id']).merge();
      }
    },
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
