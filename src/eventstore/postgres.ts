import pg from 'pg';
import { type Logger, silentLogger } from '../infra/logger.ts';
import {
  type AppendResult,
  assertDistinctStreams,
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
import { ADVISORY_LOCK_KEY, SCHEMA_SQL } from './postgres-schema.ts';
import { PostgresSubscription } from './postgres-subscription.ts';

interface EventRow {
  position: string;
  transaction_id: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  created_at: Date;
}

const COLUMNS = 'position, transaction_id, stream_id, revision, event_id, type, data, metadata, created_at';
// Only rows of transactions that have all finished (below the snapshot's xmin) are visible to readers.
const VISIBLE = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';
/** The least time between two NOTIFYs of one store (announceAppend). */
const NOTIFY_GAP_MS = 10;

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    streamId: row.stream_id,
    revision: Number(row.revision),
    position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) },
    data: row.data,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

function expectedCode(expected: ExpectedVersion): number {
  if (expected === 'no_stream') return -1;
  if (expected === 'any') return -2;
  if (expected === 'stream_exists') return -3;
  if (!Number.isInteger(expected) || expected < 0) throw new RangeError(`Invalid expected version ${expected}`);
  return expected;
}

export interface PostgresEventStoreOptions {
  connectionString: string;
  poolMax?: number;
  log?: Logger;
}

/** Events in Postgres: the embedded default. Gap-free global order through xid8 + snapshot xmin (DESIGN §1). */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly log: Logger;
  private listener: pg.Client | null = null;
  private listenerReady: Promise<void> | null = null;
  private readonly wakers = new Set<() => void>();
  private readonly subscriptions = new Set<PostgresSubscription>();
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolMax ?? 20 });
    this.pool.on('error', (error) => this.log.warn({ err: error }, 'idle event-store connection failed'));
    this.log = options.log ?? silentLogger;
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Two processes starting at once must not run the DDL concurrently.
      await client.query('select pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
      try {
        await client.query(SCHEMA_SQL);
      } finally {
        await client.query('select pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }

  async append(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('append needs at least one event');
    try {
      const result = await this.pool.query<{ next_revision: string; last_position: string; tx: string }>({
        name: 'es-append',
        text: 'select next_revision, last_position, tx from es_append($1, $2, $3::jsonb)',
        values: [
          streamId,
          expectedCode(expectedVersion),
          JSON.stringify(events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata }))),
        ],
      });
      const row = result.rows[0]!;
      this.announceAppend();
      return {
        nextExpectedVersion: Number(row.next_revision),
        position: { commit: BigInt(row.tx), prepare: BigInt(row.last_position) },
      };
    } catch (error) {
      const pgError = error as { code?: string; message?: string; detail?: string };
      if (pgError.code === 'P0001' && pgError.message === 'wrong_expected_version') {
        const actual =
          pgError.detail === 'no_stream' || pgError.detail === undefined ? 'no_stream' : Number(pgError.detail);
        throw new WrongExpectedVersionError(streamId, expectedVersion, actual);
      }
      // Two first appends to one stream that race: the loser of the unique index also lost the expectation.
      if (pgError.code === '23505' && expectedVersion !== 'any') {
        throw new WrongExpectedVersionError(streamId, expectedVersion, 'unknown');
      }
      throw error;
    }
  }

  async appendMany(appends: StreamAppend[]): Promise<(AppendResult | WrongExpectedVersionError)[]> {
    assertDistinctStreams(appends);
    if (appends.length === 0) return [];
    const result = await this.pool.query<{
      ord: number;
      next_revision: string | null;
      last_position: string | null;
      tx: string | null;
      conflict: string | null;
    }>({
      name: 'es-append-many',
      text: 'select ord, next_revision, last_position, tx, conflict from es_append_many($1::jsonb)',
      values: [
        JSON.stringify(
          appends.map((one) => ({
            s: one.streamId,
            x: expectedCode(one.expectedVersion),
            e: one.events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata })),
          })),
        ),
      ],
    });
    const outcomes: (AppendResult | WrongExpectedVersionError)[] = new Array(appends.length);
    for (const row of result.rows) {
      const asked = appends[row.ord]!;
      outcomes[row.ord] =
        row.conflict !== null
          ? new WrongExpectedVersionError(
              asked.streamId,
              asked.expectedVersion,
              row.conflict === 'no_stream' ? 'no_stream' : Number(row.conflict),
            )
          : {
              nextExpectedVersion: Number(row.next_revision),
              position: { commit: BigInt(row.tx!), prepare: BigInt(row.last_position!) },
            };
    }
    if (outcomes.some((outcome) => !(outcome instanceof WrongExpectedVersionError))) this.announceAppend();
    return outcomes;
  }

  async readStreams(streamIds: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    const streams = new Map<string, RecordedEvent[]>(streamIds.map((id) => [id, []]));
    if (streams.size === 0) return streams;
    const result = await this.pool.query<EventRow>({
      name: 'es-read-streams',
      text: `select ${COLUMNS} from es_events where stream_id = any($1::text[]) order by stream_id, revision`,
      values: [[...streams.keys()]],
    });
    for (const row of result.rows) streams.get(row.stream_id)!.push(toRecorded(row));
    return streams;
  }

  async read(streamId: string, options: { fromRevision?: number } = {}): Promise<RecordedEvent[]> {
    const result = await this.pool.query<EventRow>({
      name: 'es-read-stream',
      text: `select ${COLUMNS} from es_events where stream_id = $1 and revision >= $2 order by revision`,
      values: [streamId, options.fromRevision ?? 0],
    });
    return result.rows.map(toRecorded);
  }

  async readAll(from: GlobalPosition | null, batchSize: number): Promise<RecordedEvent[]> {
    const result =
      from === null
        ? await this.pool.query<EventRow>({
            name: 'es-read-all-start',
            text: `select ${COLUMNS} from es_events where ${VISIBLE} order by transaction_id, position limit $1`,
            values: [batchSize],
          })
        : await this.pool.query<EventRow>({
            name: 'es-read-all',
            text: `select ${COLUMNS} from es_events
                   where (transaction_id, position) > ($1::text::xid8, $2::bigint) and ${VISIBLE}
                   order by transaction_id, position limit $3`,
            values: [from.commit.toString(), from.prepare.toString(), batchSize],
          });
    return result.rows.map(toRecorded);
  }

  subscribe(options: SubscribeOptions): Subscription {
    if (this.closed) throw new Error('The event store is closed');
    const subscription = new PostgresSubscription(this, options, this.log, (wake) => {
      this.wakers.add(wake);
      void this.ensureListener();
      return () => this.wakers.delete(wake);
    });
    this.subscriptions.add(subscription);
    void subscription.done.finally(() => this.subscriptions.delete(subscription));
    subscription.start();
    return {
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(subscription);
      },
      done: subscription.done,
    };
  }

  async headPosition(): Promise<GlobalPosition | null> {
    const result = await this.pool.query<{ transaction_id: string; position: string }>({
      name: 'es-head',
      text: `select transaction_id, position from es_events where ${VISIBLE}
             order by transaction_id desc, position desc limit 1`,
    });
    const row = result.rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) } : null;
  }

  async ping(): Promise<void> {
    await this.pool.query('select 1 from es_streams limit 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    if (this.listener) {
      const listener = this.listener;
      this.listener = null;
      await listener.end().catch(() => {});
    }
    await this.pool.end();
  }

  private notifying = false;
  private notifyAgain = false;

  /**
   * Wakes this process's subscriptions at once, and other processes' through one NOTIFY at a time: appends that
   * land while a NOTIFY is in flight are covered by a single follow-up, sent 10 ms after it (their subscriptions
   * read at most every 10 ms anyway), so that hundreds of appends a second cost a hundred NOTIFYs at most.
   */
  private announceAppend(): void {
    for (const wake of this.wakers) wake();
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void this.pool
      .query("select pg_notify('es_appended', '')")
      .catch((error) => this.log.debug({ err: error }, 'NOTIFY failed; other processes will poll'))
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain && !this.closed) {
          this.notifyAgain = false;
          this.notifying = true;
          setTimeout(() => {
            // This NOTIFY covers every append until it goes, those of the gap too.
            this.notifying = false;
            this.notifyAgain = false;
            if (!this.closed) this.announceAppend();
          }, NOTIFY_GAP_MS).unref();
        }
      });
  }

  /** One LISTEN connection per store wakes every subscription; it carries no data, only "look again". */
  private ensureListener(): Promise<void> {
    if (this.listenerReady) return this.listenerReady;
    this.listenerReady = (async () => {
      const client = new pg.Client({ connectionString: this.options.connectionString });
      client.on('notification', () => {
        for (const wake of this.wakers) wake();
      });
      client.on('error', (error) => {
        this.log.warn({ err: error }, 'event-store listener failed; subscriptions fall back to polling');
        this.listener = null;
        this.listenerReady = null;
        if (!this.closed) setTimeout(() => void this.ensureListener(), 1000).unref();
      });
      await client.connect();
      await client.query('listen es_appended');
      if (this.closed) {
        await client.end();
        return;
      }
      this.listener = client;
    })().catch((error) => {
      this.log.warn({ err: error }, 'could not LISTEN; subscriptions poll');
      this.listenerReady = null;
    });
    return this.listenerReady;
  }
}
