import {
  type AllStreamRecordedEvent,
  type AllStreamSubscription,
  ANY,
  type AppendStreamState,
  BACKWARDS,
  END,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  KurrentDBClient,
  WrongExpectedVersionError as KurrentWrongExpectedVersion,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
} from '@kurrent/kurrentdb-client';
import { type Logger, silentLogger } from '../infra/logger.ts';
import {
  type AppendResult,
  assertDistinctStreams,
  comparePositions,
  type EventMetadata,
  type EventStore,
  type ExpectedVersion,
  type GlobalPosition,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedVersionError,
} from './port.ts';

export function toStreamState(expected: ExpectedVersion): AppendStreamState {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return BigInt(expected);
}

/** System events ($-prefixed types or streams) are EventStoreDB's own bookkeeping, never the product's. */
export function isSystemEvent(event: { type: string; streamId: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$');
}

function toRecorded(
  event: AllStreamRecordedEvent | (Omit<AllStreamRecordedEvent, 'position'> & { position?: GlobalPosition }),
): RecordedEvent {
  if (!event.isJson) throw new Error(`Event ${event.id} in ${event.streamId} is not JSON`);
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: event.position
      ? { commit: event.position.commit, prepare: event.position.prepare }
      : { commit: 0n, prepare: 0n },
    data: event.data as Record<string, unknown>,
    metadata: event.metadata as EventMetadata,
    createdAt: event.created,
  };
}

/** EventStoreDB/KurrentDB over gRPC, for production deployments (DESIGN §1). */
export class KurrentEventStore implements EventStore {
  readonly kind = 'eventstoredb' as const;
  private readonly client: KurrentDBClient;
  private readonly log: Logger;
  private readonly subscriptions = new Set<AllStreamSubscription>();

  constructor(options: { connectionString: string; log?: Logger }) {
    this.client = KurrentDBClient.connectionString`${options.connectionString}`;
    this.log = options.log ?? silentLogger;
  }

  async init(): Promise<void> {}

  async append(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append needs at least one event');
    try {
      const result = await this.client.appendToStream(
        streamId,
        events.map((event) =>
          jsonEvent({ id: event.id, type: event.type, data: event.data as never, metadata: event.metadata as never }),
        ),
        { streamState: toStreamState(expectedVersion) },
      );
      if (!result.position) throw new Error('EventStoreDB did not answer the position of the append');
      return {
        nextExpectedVersion: Number(result.nextExpectedRevision),
        position: { commit: result.position.commit, prepare: result.position.prepare },
      };
    } catch (error) {
      if (error instanceof KurrentWrongExpectedVersion) {
        const actual = error.actualState === NO_STREAM ? 'no_stream' : Number(error.actualState);
        throw new WrongExpectedVersionError(streamId, expectedVersion, actual);
      }
      throw error;
    }
  }

  /** Stream by stream, at once: KurrentDB has no multi-stream transaction. */
  async appendMany(appends: StreamAppend[]): Promise<(AppendResult | WrongExpectedVersionError)[]> {
    assertDistinctStreams(appends);
    return Promise.all(
      appends.map((one) =>
        this.append(one.streamId, one.events, one.expectedVersion).catch((error: unknown) => {
          if (error instanceof WrongExpectedVersionError) return error;
          throw error;
        }),
      ),
    );
  }

  async readStreams(streamIds: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    const unique = [...new Set(streamIds)];
    const read = await Promise.all(unique.map((id) => this.read(id)));
    return new Map(unique.map((id, index) => [id, read[index]!]));
  }

  async read(streamId: string, options: { fromRevision?: number } = {}): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: options.fromRevision ? BigInt(options.fromRevision) : START,
      })) {
        if (resolved.event) events.push(toRecorded(resolved.event as never));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  async readAll(from: GlobalPosition | null, batchSize: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    // The read starts AT the position; the event there was already seen, so it is dropped below.
    for await (const resolved of this.client.readAll({
      direction: FORWARDS,
      fromPosition: from ?? START,
      filter: excludeSystemEvents(),
      maxCount: batchSize + 1,
    })) {
      const event = resolved.event;
      if (!event || isSystemEvent(event)) continue;
      const recorded = toRecorded(event);
      if (from && comparePositions(recorded.position, from) <= 0) continue;
      events.push(recorded);
      if (events.length >= batchSize) break;
    }
    return events;
  }

  subscribe(options: SubscribeOptions): Subscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: options.from ?? START,
      filter: excludeSystemEvents(),
    });
    this.subscriptions.add(subscription);
    let stopped = false;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const loop = (async () => {
      try {
        for await (const resolved of subscription) {
          if (stopped) break;
          const event = resolved.event;
          if (!event || isSystemEvent(event)) continue;
          const recorded = toRecorded(event);
          // A subscription from a position may include the event at that position: it was already handled.
          if (options.from && comparePositions(recorded.position, options.from) <= 0) continue;
          await options.onEvents([recorded]);
        }
      } catch (error) {
        if (stopped) return;
        stopped = true;
        this.log.warn({ err: error }, 'EventStoreDB subscription stopped by an error');
        options.onError?.(error);
        resolveDone();
      } finally {
        this.subscriptions.delete(subscription);
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await subscription.unsubscribe();
        await loop;
      },
      done,
    };
  }

  async headPosition(): Promise<GlobalPosition | null> {
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      filter: excludeSystemEvents(),
      maxCount: 50,
    })) {
      const event = resolved.event;
      if (event && !isSystemEvent(event)) return toRecorded(event).position;
    }
    return null;
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.unsubscribe().catch(() => {})));
    await this.client.dispose();
  }
}
