import type { ConsumerEvent } from '../src/domain/consumer.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/**
 * Each consumer's opt-in and opt-out history per channel (F14): one row per change with how it arrived (keyword,
 * provider code, API, web). It holds no personal data (the consumer is their ref), so an erasure keeps it: the
 * record that someone said STOP outlives their number.
 */
export const consentHistoryProjection: Projection = {
  name: 'consent-history',
  tables: ['consent_history'],
  handles: ['ConsumerOptedOut', 'ConsumerOptedIn'],
  async project(events: RecordedEvent[], { trx, table }) {
    const rows = events.map((recorded) => {
      const event = recorded as unknown as Extract<ConsumerEvent, { type: 'ConsumerOptedOut' | 'ConsumerOptedIn' }>;
      return {
        event_id: recorded.id,
        account_id: event.data.accountId,
        consumer_ref: event.data.consumerRef,
        opted_out: event.type === 'ConsumerOptedOut',
        keyword: event.data.keyword,
        channel: event.data.channel,
        via: event.data.via,
        at: recorded.createdAt,
      };
    });
    for (let start = 0; start < rows.length; start += 1000) {
      await trx(table('consent_history'))
        .insert(rows.slice(start, start + 1000))
        .onConflict('event_id')
        .ignore();
    }
  },
};
