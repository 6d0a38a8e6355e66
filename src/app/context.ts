import type { Channels } from '../channels/providers.ts';
import type { Config } from '../config.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { ProjectionRunner } from '../projections/runner.ts';

/** What the HTTP layer and the CLI are handed by the composition root. */
export interface AppContext {
  config: Config;
  log: Logger;
  db: Db;
  store: EventStore;
  metrics: Metrics;
  /** Present in processes that run projections (ROLE=all or worker). */
  runner: ProjectionRunner | null;
  channels: Channels;
  /** The clock of what the web tool and webhooks record and decide (tests inject one; absent: the wall clock). */
  now?: () => Date;
}
