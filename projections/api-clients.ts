import type { AccountEvent } from '../src/domain/account.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** API clients and their scopes; the token endpoint and bearer checks read it, revocation included. */
export const apiClientsProjection: Projection = {
  name: 'api-clients',
  tables: ['api_clients'],
  handles: ['ApiClientCreated', 'ApiClientRevoked'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as AccountEvent & RecordedEvent;
      if (event.type === 'ApiClientCreated') {
        await trx(table('api_clients'))
          .insert({
            account_id: event.data.accountId,
            client_id: event.data.clientId,
            name: event.data.name,
            scopes: event.data.scopes,
            created_by: recorded.metadata.actor,
            created_at: recorded.createdAt,
          })
          .onConflict(['account_id', 'client_id'])
          .ignore();
      } else if (event.type === 'ApiClientRevoked') {
        await trx(table('api_clients'))
          .where({ account_id: event.data.accountId, client_id: event.data.clientId })
          .update({ revoked_at: recorded.createdAt });
      }
    }
  },
};
