import type { HandoffEvent } from '../src/domain/handoff.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** API handoffs with their LivePerson-shaped configuration. */
export const handoffsProjection: Projection = {
  name: 'handoffs',
  tables: ['handoffs'],
  handles: ['HandoffCreated', 'HandoffUpdated', 'HandoffArchived'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as HandoffEvent & RecordedEvent;
      const where = { account_id: event.data.accountId, handoff_id: event.data.handoffId };
      switch (event.type) {
        case 'HandoffCreated':
          await trx(table('handoffs'))
            .insert({
              ...where,
              name: event.data.config.name,
              config: JSON.stringify(event.data.config),
              channel_types: event.data.config.channels.map((channel) => channel.type),
              created_by: recorded.metadata.actor,
              created_at: recorded.createdAt,
              updated_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'handoff_id'])
            .ignore();
          break;
        case 'HandoffUpdated':
          await trx(table('handoffs'))
            .where(where)
            .update({
              name: event.data.config.name,
              config: JSON.stringify(event.data.config),
              channel_types: event.data.config.channels.map((channel) => channel.type),
              updated_at: recorded.createdAt,
            });
          break;
        case 'HandoffArchived':
          await trx(table('handoffs')).where(where).update({ archived_at: recorded.createdAt });
          break;
      }
    }
  },
};
