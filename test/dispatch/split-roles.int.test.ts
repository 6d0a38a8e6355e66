import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSender, setReceivingWindow, setSendRate } from '../../src/app/account-settings.ts';
import { activateProactive } from '../../src/app/accounts.ts';
import { createSmsCampaign } from '../../src/app/campaigns.ts';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { freePort } from '../../src/infra/postgres.ts';
import { type OpenedApp, openApp } from '../../src/wiring.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ALWAYS_OPEN, phone, SYSTEM } from './support.ts';

/**
 * The split docker-compose.yml runs: `ROLE=web` and `ROLE=worker` as two processes on one database, without
 * Twilio credentials (the built-in sandbox, served by the web process), with nothing else set but the database and
 * the worker's TWILIO_SANDBOX_URL. A campaign completes, and the sandbox's delivery callbacks reach the web.
 */
const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
let database: TestDatabase;
let operator: OpenedApp;
let webUrl: string;

function start(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  // Only what the operator would set: no LOG_LEVEL, PUBLIC_URL or timeouts from this test's own environment.
  const { DATABASE_URL: _d, PUBLIC_URL: _p, ROLE: _r, TWILIO_SANDBOX_URL: _t, PORT: _port, ...inherited } = process.env;
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk.toString();
  });
  children.push(child);
  return { child, output: () => output };
}

async function until<T>(
  what: string,
  read: () => Promise<T | null | undefined | false>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase('split');
  const port = await freePort();
  webUrl = `http://127.0.0.1:${port}`;
  const web = start({ ROLE: 'web', DATABASE_URL: database.url, PORT: String(port) });
  await until('the web process answers /healthz', async () => (await fetch(`${webUrl}/healthz`)).ok).catch((error) => {
    throw new Error(`${error.message}\n${web.output()}`);
  });
  start({ ROLE: 'worker', DATABASE_URL: database.url, TWILIO_SANDBOX_URL: `${webUrl}/sandbox/twilio` });
  // The operator's set-up, as the web tool's settings page would record it.
  operator = await openApp(loadConfig({ DATABASE_URL: database.url, ROLE: 'web' }), silentLogger);
  await activateProactive(operator.context, 'default', SYSTEM);
  const sender = await addSender(
    operator.context,
    { accountId: 'default', channel: 'sms', address: '+14155550100', rate: 0 },
    SYSTEM,
  );
  await setSendRate(operator.context, { accountId: 'default', channel: 'sms', rate: 0 }, SYSTEM);
  await setReceivingWindow(operator.context, { accountId: 'default', channel: 'sms', window: ALWAYS_OPEN }, SYSTEM);
  senderId = sender.senderId;
}, 180_000);

let senderId: string;

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await operator?.close();
  await database?.drop();
});

describe('ROLE=web and ROLE=worker as two processes', () => {
  it('completes a campaign through the web process’s sandbox, with delivery callbacks', async () => {
    const numbers = Array.from({ length: 20 }, (_, index) => phone(7000 + index));
    const created = await createSmsCampaign(
      { ...operator.context, personalData: operator.context.channels.personalData },
      {
        accountId: 'default',
        name: 'Split roles',
        senderId,
        text: 'Hello from two processes',
        source: 'api',
        consent: true,
        recipients: numbers.map((number) => ({ phone: number })),
        publish: true,
      },
      SYSTEM,
    );
    const db = operator.context.db;
    await until('the campaign completes', async () => {
      const row = await db('campaigns').where({ account_id: 'default', campaign_id: created.campaignId }).first();
      return row?.status === 'completed';
    });
    const sent = await db('sandbox_messages').whereIn('to', numbers).select('to');
    expect(sent.map((row) => row.to).sort()).toEqual([...numbers].sort());
    // The worker's status callback URL pointed at the web process, which serves the sandbox and the webhooks.
    await until('every message is delivered', async () => {
      const delivered = await db('campaign_messages')
        .where({ account_id: 'default', campaign_id: created.campaignId, status: 'delivered' })
        .count('* as count');
      return Number(delivered[0]?.count) === numbers.length;
    });
    // The web process reads what the worker's projections wrote.
    const ready = await until('the web process is ready', async () => {
      const response = await fetch(`${webUrl}/readyz`);
      return response.status === 200 ? ((await response.json()) as { status: string }) : null;
    });
    expect(ready.status).toBe('ready');
  }, 180_000);

  it('a worker on the built-in sandbox without TWILIO_SANDBOX_URL refuses to start, naming the variable', async () => {
    const worker = start({ ROLE: 'worker', DATABASE_URL: database.url });
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    expect(code).toBe(1);
    expect(worker.output()).toMatch(/TWILIO_SANDBOX_URL: is required for ROLE=worker without Twilio credentials/);
  }, 60_000);
});
