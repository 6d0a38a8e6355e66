import { randomUUID } from 'node:crypto';
import type { Decider, DomainEvent } from '../domain/decider.ts';
import { validateEventData } from '../domain/events.ts';
import {
  type EventMetadata,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../eventstore/port.ts';

/** Who asked, and why: becomes every written event's metadata. */
export interface CommandContext {
  /** A user id, an API client id, or `system:<reactor>`. */
  actor: string;
  correlationId?: string;
  /** The id of the event or request that caused this command. */
  causationId?: string | null;
}

export interface CommandResult<TEvent extends DomainEvent> {
  events: TEvent[];
  /** The global position of the last event written; null when the decider decided nothing. */
  position: GlobalPosition | null;
  /** The stream's revision after the command. -1 when the stream is still empty. */
  revision: number;
}

export function metadataFor(context: CommandContext): EventMetadata {
  return {
    correlationId: context.correlationId ?? randomUUID(),
    causationId: context.causationId ?? null,
    actor: context.actor,
  };
}

export function foldStream<TState, TEvent extends DomainEvent>(
  decider: Pick<Decider<unknown, TState, TEvent>, 'evolve' | 'initialState'>,
  events: RecordedEvent[],
): TState {
  return events.reduce(
    (state, event) => decider.evolve(state, { type: event.type, data: event.data } as TEvent),
    decider.initialState(),
  );
}

/**
 * Reads the stream, folds it, decides, and appends with the expected version. A concurrent writer makes the
 * append fail with a version conflict; then it starts again from the read, a few times.
 */
export async function handleCommand<TCommand, TState, TEvent extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<TCommand, TState, TEvent>,
  command: TCommand,
  context: CommandContext,
  options: { attempts?: number } = {},
): Promise<CommandResult<TEvent>> {
  const attempts = options.attempts ?? 5;
  const metadata = metadataFor(context);
  for (let attempt = 1; ; attempt++) {
    const recorded = await store.read(streamId);
    const state = foldStream(decider, recorded);
    const revision = recorded.length === 0 ? -1 : recorded[recorded.length - 1]!.revision;
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, position: null, revision };
    try {
      const result = await store.append(
        streamId,
        events.map((event) => ({ type: event.type, data: validateEventData(event.type, event.data), metadata })),
        revision === -1 ? 'no_stream' : revision,
      );
      return { events, position: result.position, revision: result.nextExpectedVersion };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= attempts) throw error;
    }
  }
}
