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

/** An event a decider produced does not match its schema: a bug at the writer, never a row in the store. */
export class InvalidEventError extends Error {
  constructor(
    readonly streamId: string,
    readonly eventType: string,
    cause: unknown,
  ) {
    super(`${eventType} for ${streamId} does not match its schema: ${cause instanceof Error ? cause.message : cause}`);
    this.name = 'InvalidEventError';
  }
}

export interface WriteOptions<TState> {
  /** Tries in all when the stream moved meanwhile (a version conflict); 1 throws the first conflict. Default 5. */
  attempts?: number;
  /** The stream as the caller already read it: the first try decides on it instead of reading it again. */
  known?: { state: TState; revision: number };
}

export interface WriteResult<TState, TEvent extends DomainEvent> extends CommandResult<TEvent> {
  /** The stream's state after the events written. */
  state: TState;
}

/**
 * The one write path (`store.append` is called nowhere else): reads and folds the stream (unless the caller
 * knows it), decides, validates every event against its zod schema, and appends with the expected version. A
 * concurrent writer makes the append fail with a version conflict; then it starts again from the read, as many
 * times as `attempts` allows, and throws the WrongExpectedVersionError after that.
 */
export async function writeStream<TState, TEvent extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<unknown, TState, TEvent>, 'evolve' | 'initialState'>,
  decide: (state: TState) => TEvent[],
  context: CommandContext,
  options: WriteOptions<TState> = {},
): Promise<WriteResult<TState, TEvent>> {
  const attempts = options.attempts ?? 5;
  const metadata = metadataFor(context);
  for (let attempt = 1; ; attempt++) {
    let known = attempt === 1 ? options.known : undefined;
    if (!known) {
      const recorded = await store.read(streamId);
      known = {
        state: foldStream(decider, recorded),
        revision: recorded.length === 0 ? -1 : recorded[recorded.length - 1]!.revision,
      };
    }
    const { state, revision } = known;
    const events = decide(state);
    if (events.length === 0) return { events, position: null, revision, state };
    const validated = events.map((event) => {
      try {
        return { type: event.type, data: validateEventData(event.type, event.data), metadata };
      } catch (error) {
        throw new InvalidEventError(streamId, event.type, error);
      }
    });
    try {
      const result = await store.append(streamId, validated, revision === -1 ? 'no_stream' : revision);
      return {
        events,
        position: result.position,
        revision: result.nextExpectedVersion,
        state: events.reduce(decider.evolve, state),
      };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError) || attempt >= attempts) throw error;
    }
  }
}

/** A command on a stream: `writeStream` with the stream decider's own `decide`. */
export function handleCommand<TCommand, TState, TEvent extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<TCommand, TState, TEvent>,
  command: TCommand,
  context: CommandContext,
  options: WriteOptions<TState> = {},
): Promise<WriteResult<TState, TEvent>> {
  return writeStream(store, streamId, decider, (state) => decider.decide(command, state), context, options);
}
