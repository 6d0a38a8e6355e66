import { projections } from '../projections/index.ts';
import type { AppContext } from './app/context.ts';
import { createChannels } from './channels/providers.ts';
import type { Config } from './config.ts';
import { createEventStore } from './eventstore/index.ts';
import { createDb, migrateLatest } from './infra/db.ts';
import type { Logger } from './infra/logger.ts';
import { createMetrics } from './infra/metrics.ts';
import { type PostgresHandle, redact, resolvePostgres } from './infra/postgres.ts';
import { ProjectionRunner } from './projections/runner.ts';
import type { Projection } from './projections/types.ts';

export interface OpenedApp {
  context: Omit<AppContext, 'runner'>;
  postgres: PostgresHandle;
  close(): Promise<void>;
}

/**
 * Connects everything a process needs, the app and the CLI alike: Postgres (DATABASE_URL or the embedded one),
 * the read-model schema, and the event store.
 */
export async function openApp(
  config: Config,
  log: Logger,
  options: { ownBaseUrl?: () => string } = {},
): Promise<OpenedApp> {
  const postgres = await resolvePostgres({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, log });
  log.info({ url: redact(postgres.url), source: postgres.source }, 'postgres');
  const db = createDb(postgres.url, { poolMax: 20 });
  try {
    await migrateLatest(db);
    const store = await createEventStore(config, postgres.url, log);
    await store.init();
    const metrics = createMetrics();
    const ownBaseUrl = options.ownBaseUrl ?? (() => `http://127.0.0.1:${config.PORT}`);
    const channels = createChannels({
      config,
      db,
      log,
      ownBaseUrl,
      observe: (channel, seconds, outcome) => metrics.providerRequestSeconds.observe({ channel, outcome }, seconds),
    });
    return {
      context: { config, log, db, store, metrics, channels },
      postgres,
      close: async () => {
        channels.sandbox?.stop();
        await store.close();
        await db.destroy();
        await postgres.stop();
      },
    };
  } catch (error) {
    await db.destroy();
    await postgres.stop();
    throw error;
  }
}

/** The projection runner of a worker process, feeding the process's metrics (benches hand in instrumented projections). */
export function createProjectionRunner(
  context: Omit<AppContext, 'runner'>,
  list: readonly Projection[] = projections,
): ProjectionRunner {
  return new ProjectionRunner({
    store: context.store,
    db: context.db,
    projections: list,
    log: context.log,
    onBatch: (name, count) => context.metrics.projectedEvents.inc({ projection: name }, count),
    onHalt: (name, halt) => context.metrics.projectionHalted.set({ projection: name }, halt ? 1 : 0),
  });
}
