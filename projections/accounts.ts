import type { AccountEvent } from '../src/domain/account.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** One row per account: its name, zone and whether Proactive is active. */
export const accountsProjection: Projection = {
  name: 'accounts',
  tables: ['accounts'],
  handles: ['AccountCreated', 'ProactiveActivated', 'DefaultTimeZoneSet'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as AccountEvent & RecordedEvent;
      switch (event.type) {
        case 'AccountCreated':
          await trx(table('accounts'))
            .insert({
              account_id: event.data.accountId,
              name: event.data.name,
              default_time_zone: event.data.defaultTimeZone,
              created_at: recorded.createdAt,
            })
            .onConflict('account_id')
            .ignore();
          break;
        case 'ProactiveActivated':
          await trx(table('accounts'))
            .where({ account_id: event.data.accountId })
            .update({
              proactive_active: true,
              activated_at: trx.raw('coalesce(activated_at, ?)', [recorded.createdAt]),
            });
          break;
        case 'DefaultTimeZoneSet':
          await trx(table('accounts'))
            .where({ account_id: event.data.accountId })
            .update({ default_time_zone: event.data.timeZone });
          break;
      }
    }
  },
};
