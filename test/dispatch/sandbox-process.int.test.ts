import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/postgres.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { messageCounts, phone, readyAccount, sendCampaign, waitForCampaign } from './support.ts';

/**
 * `outbound sandbox` serves the Twilio sandbox as its own process. The app reaches it only through
 * TWILIO_SANDBOX_URL and the real SDK; consumer replies come back to the app's signed inbound webhook.
 */
const root = path.resolve(import.meta.dirname, '../..');
let running: TestApp;
let senderId: string;
let sandbox: ChildProcess;
let sandboxUrl: string;
let output = '';

beforeAll(async () => {
  const port = await freePort();
  sandboxUrl = `http://127.0.0.1:${port}`;
  running = await startTestApp({ TWILIO_SANDBOX_URL: `${sandboxUrl}/sandbox/twilio` }, { worker: true });
  senderId = (await readyAccount(running)).senderId;
  sandbox = spawn(process.execPath, ['bin/outbound.js', 'sandbox', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: running.app.config.DATABASE_URL, PUBLIC_URL: running.baseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Twilio sandbox on')) resolve();
    };
    sandbox.stdout!.on('data', onData);
    sandbox.stderr!.on('data', onData);
    sandbox.once('exit', (code) => reject(new Error(`outbound sandbox exited with ${code}:\n${output}`)));
  });
});
afterAll(async () => {
  if (sandbox && sandbox.exitCode === null) {
    const exited = new Promise((resolve) => sandbox.once('exit', resolve));
    sandbox.kill('SIGTERM');
    await exited;
  }
  await running?.close();
});

describe('outbound sandbox, as its own process', () => {
  it('takes the app’s sends through TWILIO_SANDBOX_URL and delivers consumer replies to the app', async () => {
    const numbers = Array.from({ length: 5 }, (_, index) => phone(4000 + index));
    // A fault set on the standalone sandbox only: the app's own mounted sandbox knows nothing of it, so the
    // failure proves the sends went to the separate process.
    const faults = await fetch(`${sandboxUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failNumbers: { [numbers[0]!]: 21211 } }),
    });
    expect(faults.status).toBe(200);
    const created = await sendCampaign(
      running,
      senderId,
      numbers.map((phone) => ({ phone })),
    );
    await waitForCampaign(running, created.campaignId);
    const counts = await messageCounts(running, created.campaignId);
    expect(counts.failed).toBe(1);
    expect((counts.sent ?? 0) + (counts.delivered ?? 0)).toBe(4);

    const reply = await fetch(`${sandboxUrl}/sandbox/phone/reply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: numbers[1], to: '+14155550100', body: 'stop' }),
    });
    expect(reply.status).toBeLessThan(300);
    const deadline = Date.now() + 10_000;
    let optOuts: unknown[] = [];
    while (optOuts.length === 0 && Date.now() < deadline) {
      optOuts = await running.app.db('opt_outs').where({ account_id: 'default' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(optOuts).toHaveLength(1);

    const page = await fetch(`${sandboxUrl}/sandbox`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(numbers[1]);
  }, 60_000);
});
