import { randomUUID } from 'node:crypto';
import { validateEventData } from '../../src/domain/events.ts';
import type { EventMetadata, GlobalPosition, RecordedEvent } from '../../src/eventstore/port.ts';
import type { Db } from '../../src/infra/db.ts';
import { type Projection, tableMapper } from '../../src/projections/types.ts';

let nextPrepare = 1n;

/**
 * A RecordedEvent fixture. Positions increase with every call unless given, so fixtures built in order are in
 * global order, as the runner delivers them.
 */
export function recorded(
  type: string,
  data: Record<string, unknown>,
  options: {
    id?: string;
    streamId?: string;
    revision?: number;
    position?: GlobalPosition;
    metadata?: Partial<EventMetadata>;
    createdAt?: Date;
  } = {},
): RecordedEvent {
  const prepare = nextPrepare++;
  return {
    id: options.id ?? randomUUID(),
    type,
    streamId: options.streamId ?? `test-${String(data.accountId ?? 'stream')}`,
    revision: options.revision ?? 0,
    position: options.position ?? { commit: prepare, prepare },
    data,
    metadata: { correlationId: randomUUID(), causationId: null, actor: 'system:test', ...options.metadata },
    createdAt: options.createdAt ?? new Date('2026-11-24T12:00:00Z'),
  };
}

/**
 * What the runner would hand the projection: only the types it handles, data parsed by its schema. A fixture
 * with invalid data throws here (the runner would skip it with a warning), so a broken fixture cannot pass.
 */
function asDelivered(projection: Projection, events: readonly RecordedEvent[]): RecordedEvent[] {
  return events
    .filter((event) => projection.handles.includes(event.type))
    .map((event) => ({ ...event, data: validateEventData(event.type, event.data) }));
}

/** Applies the events once, as one batch in one transaction, to the live tables. */
export async function applyOnce(projection: Projection, db: Db, events: readonly RecordedEvent[]): Promise<void> {
  const delivered = asDelivered(projection, events);
  if (delivered.length === 0) return;
  await db.transaction((trx) => projection.project(delivered, { trx, table: tableMapper(projection) }));
}

/**
 * Applies every event twice in a row, each time in its own transaction, as a redelivery would. Assert that the
 * rows equal those of `applyOnce` on a fresh database: CONVENTIONS requires every projection to pass this.
 */
export async function applyTwice(projection: Projection, db: Db, events: readonly RecordedEvent[]): Promise<void> {
  const table = tableMapper(projection);
  for (const event of asDelivered(projection, events)) {
    for (let time = 0; time < 2; time += 1) {
      await db.transaction((trx) => projection.project([event], { trx, table }));
    }
  }
}

/** Every row of a table in a stable order, for comparing two runs. */
export async function tableRows(db: Db, table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = await db(table).select('*');
  const key = (row: Record<string, unknown>) => JSON.stringify(row);
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
