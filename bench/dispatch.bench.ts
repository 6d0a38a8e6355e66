import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { addSender, setReceivingWindow, setSendRate } from '../src/app/account-settings.ts';
import { activateProactive, createAccount } from '../src/app/accounts.ts';
import { createSmsCampaign } from '../src/app/campaigns.ts';
import type { AppContext } from '../src/app/context.ts';
import { loadConfig } from '../src/config.ts';
import { startWorker } from '../src/dispatch/worker.ts';
import { WEEKDAYS, type WeeklyWindow } from '../src/domain/account-settings.ts';
import { createHttpApp } from '../src/http/server.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { freePort } from '../src/infra/postgres.ts';
import { createProjectionRunner, openApp } from '../src/wiring.ts';
import { benchPostgres, rate } from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 10_000);
const system = { actor: 'bench' };

/**
 * A 10,000-recipient SMS campaign with rate limits off, against the sandbox through the real twilio SDK, in one
 * process (web + worker, as `npm start` runs). Measured: from publishing to every message Sent and the campaign
 * read model Completed. The sandbox's status callbacks are off, so the figure is the dispatch path alone.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('drop database if exists bench_dispatch with (force)');
  await admin.query('create database bench_dispatch');
  await admin.end();
  const url = new URL(server.url);
  url.pathname = '/bench_dispatch';
  let port = 0;
  // The provider is another process, as Twilio is in production: `outbound sandbox` on the same database.
  const sandboxPort = await freePort();
  const sandbox = spawn(process.execPath, ['bin/outbound.js', 'sandbox', '--port', String(sandboxPort)], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    sandbox.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Twilio sandbox on')) resolve();
    });
    sandbox.once('exit', (code) => reject(new Error(`outbound sandbox exited with ${code}`)));
  });
  await fetch(`http://127.0.0.1:${sandboxPort}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackDelayMs: -1 }),
  });
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    PORT: '0',
    LOG_LEVEL: 'silent',
    TWILIO_SANDBOX_URL: `http://127.0.0.1:${sandboxPort}/sandbox/twilio`,
  });
  const opened = await openApp(config, silentLogger, { ownBaseUrl: () => `http://127.0.0.1:${port}` });
  const runner = createProjectionRunner(opened.context);
  const app: AppContext = { ...opened.context, runner };
  await runner.start();
  const http: Server = await new Promise((resolve) => {
    const listening = createHttpApp(app).listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = http.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const worker = await startWorker(app, app.channels);

  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    await createAccount(app, { accountId: 'bench', name: 'Bench' }, system);
    await activateProactive(app, 'bench', system);
    const { senderId } = await addSender(
      app,
      { accountId: 'bench', channel: 'sms', address: '+14155550100', rate: 0 },
      system,
    );
    await setSendRate(app, { accountId: 'bench', channel: 'sms', rate: 0 }, system);
    const always = Object.fromEntries(WEEKDAYS.map((day) => [day, { start: '00:00', end: '24:00' }])) as WeeklyWindow;
    await setReceivingWindow(app, { accountId: 'bench', channel: 'sms', window: always }, system);
    const recipients = Array.from({ length: RECIPIENTS }, (_, index) => ({
      phone: `+1415${String(2010000 + index).padStart(7, '0')}`,
      variables: { 1: `R${index}` },
    }));

    const started = performance.now();
    const created = await createSmsCampaign(
      { ...app, personalData: app.channels.personalData },
      {
        accountId: 'bench',
        name: 'Bench',
        senderId,
        text: 'Hi ${{1}}',
        source: 'api',
        consent: true,
        recipients,
        publish: true,
      },
      system,
    );
    const publishedMs = performance.now() - started;
    let lastLog = 0;
    for (;;) {
      const row = await app
        .db('campaigns')
        .where({ account_id: 'bench', campaign_id: created.campaignId })
        .first('status');
      if (row?.status === 'completed') break;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        const counted = await app.db('sandbox_messages').count('* as count');
        process.stderr.write(`  ${Math.round(performance.now() - started)} ms: ${counted[0]?.count} sent\n`);
      }
      if (performance.now() - started > 600_000) throw new Error('the campaign did not complete within 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const ms = performance.now() - started;
    const counted = await app.db('sandbox_messages').where({ direction: 'outbound-api' }).count('* as count');
    const statuses = await app
      .db('campaign_messages')
      .where({ account_id: 'bench' })
      .groupBy('status')
      .select('status')
      .count('* as count');
    return {
      recipients: RECIPIENTS,
      createAndPublishMs: Math.round(publishedMs),
      publishToCompletedMs: Math.round(ms),
      messagesPerSecond: rate(RECIPIENTS, ms),
      targetMs: 5000,
      sandboxMessages: Number(counted[0]?.count),
      statuses: Object.fromEntries(statuses.map((row) => [row.status, Number(row.count)])),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
    };
  } finally {
    clearInterval(sampler);
    await worker.stop();
    await runner.stop();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await opened.close();
    const exited = new Promise((resolve) => sandbox.once('exit', resolve));
    sandbox.kill('SIGTERM');
    await exited;
    await server.stop();
  }
}
