import { validateEventData } from '../domain/events.ts';
import { formatPosition, type RecordedEvent } from '../eventstore/port.ts';
import type { Projection } from './types.ts';

/** An event a projection cannot apply: unknown type, or data its schema refuses. It stops that projection. */
export class UnprojectableEventError extends Error {
  constructor(
    readonly event: RecordedEvent,
    readonly reason: string,
  ) {
    super(`${event.type} at ${formatPosition(event.position)} (${event.streamId}) cannot be applied: ${reason}`);
    this.name = 'UnprojectableEventError';
  }
}

const handledTypes = new WeakMap<Projection, ReadonlySet<string>>();

/**
 * The events of the batch the projection handles, with their data parsed by the event's schema (so defaults
 * added to a schema later reach old events). An unknown type or invalid data is never skipped: the batch is cut
 * just before it (`consumed`, `handled`), and `failure` says why, which stops the projection at that event.
 */
export function projectable(
  projection: Projection,
  events: readonly RecordedEvent[],
): { consumed: readonly RecordedEvent[]; handled: RecordedEvent[]; failure: UnprojectableEventError | null } {
  let handles = handledTypes.get(projection);
  if (!handles) {
    handles = new Set(projection.handles);
    handledTypes.set(projection, handles);
  }
  const handled: RecordedEvent[] = [];
  for (const [index, event] of events.entries()) {
    if (!handles.has(event.type)) continue;
    const parsed = parsedData(event);
    if (typeof parsed === 'string') {
      return { consumed: events.slice(0, index), handled, failure: new UnprojectableEventError(event, parsed) };
    }
    handled.push({ ...event, data: parsed });
  }
  return { consumed: events, handled, failure: null };
}

const parsedEvents = new WeakMap<RecordedEvent, Record<string, unknown> | string>();

/**
 * An event's data parsed by its schema, or why it cannot be: once per event, however many projections of the
 * shared feed handle it (the feed hands each the same event objects).
 */
function parsedData(event: RecordedEvent): Record<string, unknown> | string {
  let parsed = parsedEvents.get(event);
  if (parsed === undefined) {
    try {
      parsed = validateEventData(event.type, event.data);
    } catch (error) {
      parsed = error instanceof Error ? error.message : String(error);
    }
    parsedEvents.set(event, parsed);
  }
  return parsed;
}

/** `projectable` for a whole batch that must apply in full (a replay): an unprojectable event throws. */
export function handledEvents(projection: Projection, events: readonly RecordedEvent[]): RecordedEvent[] {
  const { handled, failure } = projectable(projection, events);
  if (failure) throw failure;
  return handled;
}
