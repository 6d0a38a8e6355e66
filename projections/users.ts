import type { AccountEvent } from '../src/domain/account.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** The people and bot users of each account, as shown on the users page and used to sign in. */
export const usersProjection: Projection = {
  name: 'users',
  tables: ['users'],
  handles: ['UserAdded', 'RoleChanged', 'UserRemoved'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as AccountEvent & RecordedEvent;
      switch (event.type) {
        case 'UserAdded':
          await trx(table('users'))
            .insert({
              account_id: event.data.accountId,
              user_id: event.data.userId,
              kind: event.data.kind,
              email: event.data.email,
              name: event.data.name,
              role: event.data.role,
              added_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'user_id'])
            .ignore();
          break;
        case 'RoleChanged':
          await trx(table('users'))
            .where({ account_id: event.data.accountId, user_id: event.data.userId })
            .update({ role: event.data.role });
          break;
        case 'UserRemoved':
          await trx(table('users')).where({ account_id: event.data.accountId, user_id: event.data.userId }).delete();
          break;
      }
    }
  },
};
