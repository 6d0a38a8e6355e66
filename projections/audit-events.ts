import type { Knex } from 'knex';
import { eventSchemas } from '../src/domain/events.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** What a sealed field of an erased consumer reads as in the event history. */
export const ERASED = 'erased';

/**
 * Every event, per account, for the auditors' event history (F21). It copies what the store holds, so it works
 * the same on both event-store adapters; personal data in events is already encrypted. On ConsumerErased (F14)
 * the copies of that consumer's sealed fields written before it read "erased": their key is gone anyway, and the
 * history then shows plainly what was erased.
 */
export const auditEventsProjection: Projection = {
  name: 'audit-events',
  tables: ['audit_events'],
  handles: Object.keys(eventSchemas),
  async project(events: RecordedEvent[], { trx, table }) {
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      event_id: event.id,
      commit_position: event.position.commit.toString(),
      prepare_position: event.position.prepare.toString(),
      account_id: String(event.data.accountId ?? ''),
      stream_id: event.streamId,
      revision: event.revision,
      type: event.type,
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(event.metadata),
      actor: event.metadata.actor,
      correlation_id: event.metadata.correlationId,
      causation_id: event.metadata.causationId,
      occurred_at: event.createdAt,
    }));
    for (let start = 0; start < rows.length; start += 1000) {
      await trx(table('audit_events'))
        .insert(rows.slice(start, start + 1000))
        .onConflict('event_id')
        .ignore();
    }
    // After the batch's inserts, so an erasure also reaches its consumer's events earlier in the same batch.
    for (const event of events) {
      if (event.type === 'ConsumerErased') await redactConsumer(trx, table('audit_events'), event);
      if (event.type === 'CampaignPersonalDataShredded') await redactCampaign(trx, table('audit_events'), event);
    }
  },
};

/** Rewrites the erased consumer's sealed fields in the rows before the erasure; later rows (a new contact) stay. */
async function redactConsumer(trx: Knex.Transaction, audit: string, erased: RecordedEvent): Promise<void> {
  const accountId = String(erased.data.accountId);
  const consumerRef = String(erased.data.consumerRef);
  const before = [erased.position.commit.toString(), erased.position.prepare.toString()];
  // Their consumer and message events carry their ref; their conversations' events are found by stream.
  await trx.raw(
    `update ?? set data = (data - 'sealedPhone')
       || case when jsonb_exists(data, 'sealed') then jsonb_build_object('sealed', ?::text) else '{}'::jsonb end
       || case when jsonb_typeof(data->'firstMessage') = 'object'
            then jsonb_build_object('firstMessage', (data->'firstMessage') || jsonb_build_object('sealed', ?::text))
            else '{}'::jsonb end
     where account_id = ?
       and (commit_position, prepare_position) < (?::numeric, ?::numeric)
       and (data->>'consumerRef' = ? or stream_id in (
         select 'conversation-' || (o.data->>'conversationId') from ?? o
         where o.account_id = ? and o.type = 'ConversationOpened' and o.data->>'consumerRef' = ?))`,
    [audit, ERASED, ERASED, accountId, ...before, consumerRef, audit, accountId, consumerRef],
  );
  // A campaign's recipient batches hold many consumers: only this one's entry is rewritten.
  await trx.raw(
    `update ?? set data = jsonb_set(data, '{recipients}', (
       select jsonb_agg(case when r->>'consumerRef' = ? then r || jsonb_build_object('sealed', ?::text) else r end
                        order by n)
       from jsonb_array_elements(data->'recipients') with ordinality as x(r, n)))
     where account_id = ? and type = 'RecipientsAdded'
       and (commit_position, prepare_position) < (?::numeric, ?::numeric)
       and data->'recipients' @> ?::jsonb`,
    [audit, consumerRef, ERASED, accountId, ...before, JSON.stringify([{ consumerRef }])],
  );
}

/**
 * Retention (F14): the campaign's copies of its recipients' data read "erased" (their key is gone): every entry of
 * its recipient batches, its messages' queued copies, and the first message of each conversation it opened.
 */
async function redactCampaign(trx: Knex.Transaction, audit: string, shredded: RecordedEvent): Promise<void> {
  const accountId = String(shredded.data.accountId);
  const campaignId = String(shredded.data.campaignId);
  await trx.raw(
    `update ?? set data = jsonb_set(data, '{recipients}', (
       select coalesce(jsonb_agg(r || jsonb_build_object('sealed', ?::text) order by n), '[]'::jsonb)
       from jsonb_array_elements(data->'recipients') with ordinality as x(r, n)))
     where account_id = ? and type = 'RecipientsAdded' and data->>'campaignId' = ?`,
    [audit, ERASED, accountId, campaignId],
  );
  await trx.raw(
    `update ?? set data = data || jsonb_build_object('sealed', ?::text)
     where account_id = ? and type = 'MessageQueued' and data->>'campaignId' = ?`,
    [audit, ERASED, accountId, campaignId],
  );
  await trx.raw(
    `update ?? set data = jsonb_set(data, '{firstMessage,sealed}', to_jsonb(?::text))
     where account_id = ? and type = 'ConversationOpened' and data->>'campaignId' = ?
       and jsonb_typeof(data->'firstMessage') = 'object'`,
    [audit, ERASED, accountId, campaignId],
  );
}
