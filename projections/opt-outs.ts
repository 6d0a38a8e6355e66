import type { ConsumerEvent } from '../src/domain/consumer.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** Who is opted out (F12), for reporting and the settings pages; the dispatcher reads the consumer stream instead. */
export const optOutsProjection: Projection = {
  name: 'opt-outs',
  tables: ['opt_outs'],
  handles: ['ConsumerOptedOut', 'ConsumerOptedIn'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as ConsumerEvent & RecordedEvent;
      if (event.type !== 'ConsumerOptedOut' && event.type !== 'ConsumerOptedIn') continue;
      await trx(table('opt_outs'))
        .insert({
          account_id: event.data.accountId,
          consumer_ref: event.data.consumerRef,
          opted_out: event.type === 'ConsumerOptedOut',
          keyword: event.data.keyword,
          channel: event.data.channel,
          via: event.data.via,
          changed_at: recorded.createdAt,
        })
        .onConflict(['account_id', 'consumer_ref'])
        .merge();
    }
  },
};
