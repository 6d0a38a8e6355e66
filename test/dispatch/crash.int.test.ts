import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { messageCounts, phone, readyAccount, sendCampaign, waitForCampaign } from './support.ts';

/**
 * The dispatcher runs in a separate worker process (`ROLE=worker`, the product's own entry point) that is
 * SIGKILLed at random moments, over and over, during a 2,000-recipient campaign. Whatever the moment, the sandbox
 * must end with exactly one message per recipient: a send whose record was lost is reconciled, never repeated.
 */
const root = path.resolve(import.meta.dirname, '../..');
let running: TestApp;
let senderId: string;
const children: ChildProcess[] = [];

function startWorker(): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ROLE: 'worker',
    DATABASE_URL: running.app.config.DATABASE_URL,
    TWILIO_SANDBOX_URL: `${running.baseUrl}/sandbox/twilio`,
    PUBLIC_URL: running.baseUrl,
    DISPATCH_LEASE_MS: '1500',
    // The lease must outlast a request's timeout (the config refuses a lease shorter than it plus a second).
    TWILIO_TIMEOUT_MS: '500',
    LOG_LEVEL: 'silent',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: 'ignore' });
  children.push(child);
  return child;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sandboxCount(): Promise<number> {
  const counted = await running.app.db('sandbox_messages').count('* as count');
  return Number(counted[0]?.count ?? 0);
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  running = await startTestApp();
  senderId = (await readyAccount(running)).senderId;
  await fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackDelayMs: -1 }),
  });
});
afterAll(async () => {
  for (const child of children) await kill(child);
  await running?.close();
});

describe('crash safety', () => {
  it('sends exactly one message per recipient although the worker is killed at random 12 times', async () => {
    const recipients = Array.from({ length: 2000 }, (_, index) => ({ phone: phone(index) }));
    const created = await sendCampaign(running, senderId, recipients, 'Crash-tested hello');
    // How many messages the sandbox holds after each kill: the kills must land while sending is under way.
    const progress: number[] = [];
    for (let kills = 0; kills < 12; kills++) {
      const worker = startWorker();
      // Kill only once this worker is sending (start-up time varies with the machine), at a random moment after.
      const before = progress[progress.length - 1] ?? 0;
      const deadline = Date.now() + 60_000;
      while ((await sandboxCount()) === before && Date.now() < deadline) await sleep(20);
      await sleep(Math.random() * 400);
      await kill(worker);
      progress.push(await sandboxCount());
    }
    const midCampaign = progress.filter((count, index) => count < 2000 && count > (progress[index - 1] ?? 0));
    expect(midCampaign.length, `sandbox counts after each kill: ${progress.join(', ')}`).toBeGreaterThanOrEqual(10);
    const last = startWorker();
    await waitForCampaign(running, created.campaignId, 'completed', 300_000);
    await kill(last);

    const outbound = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' }).select('to');
    const perRecipient = new Map<string, number>();
    for (const row of outbound) perRecipient.set(row.to, (perRecipient.get(row.to) ?? 0) + 1);
    expect([...perRecipient.values()].filter((count) => count > 1)).toEqual([]);
    expect(perRecipient.size).toBe(2000);
    expect(outbound).toHaveLength(2000);
    const counts = await messageCounts(running, created.campaignId);
    expect(counts).toEqual({ sent: 2000 });
  }, 600_000);
});
