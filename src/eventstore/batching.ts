import {
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
  WrongExpectedVersionError,
} from './port.ts';

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

interface PendingAppend extends Waiter<AppendResult> {
  append: StreamAppend;
}

interface PendingRead extends Waiter<RecordedEvent[]> {
  streamId: string;
}

/**
 * Group commit for one process's many concurrent writers and readers (the dispatcher's sends in flight, the
 * expander's messages): an append or whole-stream read asked while one is already in flight waits for it, then
 * goes with every other one asked meanwhile as one `appendMany` / one `readStreams`. Alone, a call goes at once,
 * so nothing waits when there is nothing to share; under load a round trip carries many streams.
 *
 * Semantics stay those of `append` and `read`, per caller: each append has its own expected version and gets
 * its own result or WrongExpectedVersionError. Two appends to one stream never go in one batch: the later waits
 * for the next, so it is checked against what the earlier wrote.
 */
export class BatchingEventStore implements EventStore {
  readonly kind: EventStore['kind'];
  private appends: PendingAppend[] = [];
  private appending = false;
  private reads: PendingRead[] = [];
  private reading = false;

  constructor(
    private readonly inner: EventStore,
    private readonly maxBatch = 500,
  ) {
    this.kind = inner.kind;
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  append(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new RangeError('append needs at least one event'));
    return new Promise((resolve, reject) => {
      this.appends.push({ append: { streamId, events, expectedVersion }, resolve, reject });
      if (!this.appending) void this.flushAppends();
    });
  }

  appendMany(appends: StreamAppend[]): Promise<(AppendResult | WrongExpectedVersionError)[]> {
    return this.inner.appendMany(appends);
  }

  read(streamId: string, options: { fromRevision?: number } = {}): Promise<RecordedEvent[]> {
    if (options.fromRevision) return this.inner.read(streamId, options);
    return new Promise((resolve, reject) => {
      this.reads.push({ streamId, resolve, reject });
      if (!this.reading) void this.flushReads();
    });
  }

  readStreams(streamIds: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    return this.inner.readStreams(streamIds);
  }

  readAll: EventStore['readAll'] = (from, batchSize) => this.inner.readAll(from, batchSize);
  subscribe: EventStore['subscribe'] = (options) => this.inner.subscribe(options);
  headPosition: EventStore['headPosition'] = () => this.inner.headPosition();
  ping: EventStore['ping'] = () => this.inner.ping();
  close: EventStore['close'] = () => this.inner.close();

  private async flushAppends(): Promise<void> {
    this.appending = true;
    try {
      while (this.appends.length > 0) {
        const batch: PendingAppend[] = [];
        const later: PendingAppend[] = [];
        const streams = new Set<string>();
        for (const pending of this.appends) {
          if (batch.length < this.maxBatch && !streams.has(pending.append.streamId)) {
            streams.add(pending.append.streamId);
            batch.push(pending);
          } else later.push(pending);
        }
        this.appends = later;
        try {
          const outcomes =
            batch.length === 1
              ? [await single(this.inner, batch[0]!.append)]
              : await this.inner.appendMany(batch.map((pending) => pending.append));
          for (const [index, pending] of batch.entries()) {
            const outcome = outcomes[index]!;
            if (outcome instanceof WrongExpectedVersionError) pending.reject(outcome);
            else pending.resolve(outcome);
          }
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.appending = false;
    }
  }

  private async flushReads(): Promise<void> {
    this.reading = true;
    try {
      while (this.reads.length > 0) {
        const batch = this.reads.splice(0, this.maxBatch);
        try {
          const streams =
            batch.length === 1
              ? new Map([[batch[0]!.streamId, await this.inner.read(batch[0]!.streamId)]])
              : await this.inner.readStreams(batch.map((pending) => pending.streamId));
          // Two readers of one stream get arrays of their own: callers may change what they are handed.
          for (const pending of batch) pending.resolve([...streams.get(pending.streamId)!]);
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.reading = false;
    }
  }
}

async function single(store: EventStore, append: StreamAppend): Promise<AppendResult | WrongExpectedVersionError> {
  try {
    return await store.append(append.streamId, append.events, append.expectedVersion);
  } catch (error) {
    if (error instanceof WrongExpectedVersionError) return error;
    throw error;
  }
}
