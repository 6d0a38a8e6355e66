import type { Config } from '../config.ts';
import type { Logger } from '../infra/logger.ts';
import type { EventStore } from './port.ts';
import { PostgresEventStore } from './postgres.ts';

/** The adapter EVENT_STORE names. The EventStoreDB client is loaded only when it is used. */
export async function createEventStore(
  config: Pick<Config, 'EVENT_STORE' | 'EVENTSTORE_URL'>,
  databaseUrl: string,
  log: Logger,
): Promise<EventStore> {
  if (config.EVENT_STORE === 'eventstoredb') {
    const { KurrentEventStore } = await import('./eventstoredb.ts');
    return new KurrentEventStore({ connectionString: config.EVENTSTORE_URL!, log });
  }
  return new PostgresEventStore({ connectionString: databaseUrl, log, poolMax: 20 });
}
