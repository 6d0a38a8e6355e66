import type { Server } from 'node:http';
import type { Express } from 'express';
import { projections } from '../../projections/index.ts';
import { bootstrapFirstStart } from '../../src/app/bootstrap.ts';
import type { AppContext } from '../../src/app/context.ts';
import { loadConfig } from '../../src/config.ts';
import { startWorker, type Worker } from '../../src/dispatch/worker.ts';
import type { GlobalPosition } from '../../src/eventstore/port.ts';
import { answerClientErrors, createHttpApp } from '../../src/http/server.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { createProjectionRunner, openApp } from '../../src/wiring.ts';
import { createTestDatabase } from './database.ts';

export interface TestApp {
  baseUrl: string;
  app: AppContext;
  http: Express;
  worker: Worker | null;
  close(): Promise<void>;
}

export const TEST_ADMIN = { email: 'admin@outbound.test', password: 'correct horse battery' };

/** The whole app (HTTP + projections) on a fresh database and an ephemeral port, as `npm start` wires it. */
export async function startTestApp(
  env: Record<string, string> = {},
  options: { worker?: boolean; now?: () => Date } = {},
): Promise<TestApp> {
  const database = await createTestDatabase('app');
  const config = loadConfig({
    DATABASE_URL: database.url,
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    PORT: '0',
    ...env,
  });
  let port = 0;
  const opened = await openApp(config, silentLogger, { ownBaseUrl: () => `http://127.0.0.1:${port}` });
  const runner = createProjectionRunner(opened.context);
  const app: AppContext = { ...opened.context, runner, ...(options.now ? { now: options.now } : {}) };
  await runner.start();
  await bootstrapFirstStart(app, {
    accountId: config.ACCOUNT_ID,
    adminEmail: config.ADMIN_EMAIL,
    adminPassword: config.ADMIN_PASSWORD,
    log: silentLogger,
  });
  // Tests start once every read model has caught up with the first start's events, as a person would.
  const head = await committedHead(app.db);
  if (head && !(await waitForProjection(app.db, projectionNames(), head, { timeoutMs: 60_000 }))) {
    throw new Error('the read models did not apply the first start’s events within 60 s');
  }
  const http = createHttpApp(app);
  const server: Server = await new Promise((resolve) => {
    const listening = http.listen(0, '127.0.0.1', () => resolve(listening));
    answerClientErrors(listening);
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const worker = options.worker ? await startWorker(app, app.channels, { now: options.now }) : null;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    http,
    worker,
    close: async () => {
      await worker?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runner.stop();
      await opened.close();
      await database.drop();
    },
  };
}

/** Resolves once every read model has applied everything in the store as it is now (bounded: fails after). */
export async function projectionsAtHead(running: TestApp, timeoutMs = 60_000): Promise<void> {
  const head = await committedHead(running.app.db);
  if (!head) return;
  if (!(await waitForProjection(running.app.db, projectionNames(), head, { timeoutMs }))) {
    throw new Error(`the read models did not reach the store's head within ${timeoutMs} ms`);
  }
}

/**
 * Polls `check` until it holds: for state that arrives on its own (a provider's status callbacks), where there is
 * no position to wait for. Fails naming `what` after `timeoutMs`.
 */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * How many events the store holds, committed: what "nothing was written" compares. Not the head position, which
 * lags behind the last appends while any older transaction on the server is open (other test files share it).
 */
export async function committedEvents(running: TestApp): Promise<number> {
  const { rows } = await running.app.db.raw('select count(*)::int as n from es_events');
  return rows[0].n as number;
}

const projectionNames = () => projections.map((projection) => projection.name);

/**
 * The position of the last event committed to the store. Not `headPosition()`: that is the last event a reader
 * may take yet, which lags behind committed events while any older transaction on the server is open (other test
 * files share the server), so waiting for it may wait for less than what this test appended.
 */
export async function committedHead(db: TestApp['app']['db']): Promise<GlobalPosition | null> {
  const { rows } = await db.raw(
    'select transaction_id, position from es_events order by transaction_id desc, position desc limit 1',
  );
  const row = rows[0] as { transaction_id: string; position: string } | undefined;
  return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) } : null;
}
