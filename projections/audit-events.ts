import { eventSchemas } from '../src/domain/events.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/**
 * Every event, per account, for the auditors' event history (F21). It copies what the store holds, so it works
 * the same on both event-store adapters; personal data in events is already encrypted.
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
  },
};
