import { type ChildProcess, spawn } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { projections } from '../projections/index.ts';
import { addSender, setReceivingWindow, setSendRate } from '../src/app/account-settings.ts';
import { activateProactive, createAccount } from '../src/app/accounts.ts';
import type { AppContext } from '../src/app/context.ts';
import { sandboxCredentials } from '../src/channels/sandbox/store.ts';
import { createTwilioClient } from '../src/channels/twilio.ts';
import { loadConfig } from '../src/config.ts';
import { startWorker, type Worker } from '../src/dispatch/worker.ts';
import { WEEKDAYS, type WeeklyWindow } from '../src/domain/account-settings.ts';
import { createHttpApp } from '../src/http/server.ts';
import { createDb } from '../src/infra/db.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { freePort } from '../src/infra/postgres.ts';
import type { Projection } from '../src/projections/types.ts';
import { createProjectionRunner, openApp } from '../src/wiring.ts';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const system = { actor: 'bench' };

/** A fresh database on the bench server; answers its URL. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Waits for a child's stdout line containing `line`. */
export function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(line)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`${child.spawnargs.join(' ')} exited with ${code} before "${line}"`)),
    );
  });
}

export interface SandboxProcess {
  port: number;
  pid: number;
  restUrl: string;
  setFaults(faults: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** `outbound sandbox` as its own process on the database, as Twilio is another service in production. */
export async function startSandbox(databaseUrl: string): Promise<SandboxProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/outbound.js', 'sandbox', '--port', String(port)], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(child, 'Twilio sandbox on');
  const setFaults = async (faults: Record<string, unknown>) => {
    const response = await fetch(`http://127.0.0.1:${port}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    if (!response.ok) throw new Error(`sandbox faults: ${response.status} ${await response.text()}`);
  };
  // Status callbacks off: the figures are the dispatch path alone.
  await setFaults({ callbackDelayMs: -1 });
  return {
    port,
    pid: child.pid!,
    restUrl: `http://127.0.0.1:${port}/sandbox/twilio`,
    setFaults,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface BenchApp {
  app: AppContext;
  worker: Worker | null;
  port: number;
  close(): Promise<void>;
}

/** The app in this process (web + projections, and the worker unless `worker: false`), as `npm start` runs it. */
export async function openBenchApp(
  databaseUrl: string,
  sandbox: SandboxProcess,
  options: { worker?: boolean; env?: Record<string, string>; lagMs?: LagSample[] } = {},
): Promise<BenchApp> {
  let port = 0;
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: '0',
    LOG_LEVEL: 'silent',
    TWILIO_SANDBOX_URL: sandbox.restUrl,
    ...options.env,
  });
  const opened = await openApp(config, silentLogger, { ownBaseUrl: () => `http://127.0.0.1:${port}` });
  const runner = createProjectionRunner(opened.context, options.lagMs ? withLag(options.lagMs) : projections);
  const app: AppContext = { ...opened.context, runner };
  await runner.start();
  const http: Server = await new Promise((resolve) => {
    const listening = createHttpApp(app).listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = http.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const worker = options.worker === false ? null : await startWorker(app, app.channels);
  return {
    app,
    worker,
    port,
    close: async () => {
      await worker?.stop();
      await runner.stop();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await opened.close();
    },
  };
}

/** One event's lag on the campaign page: its type and the milliseconds from its row written to the read model's. */
export interface LagSample {
  type: string;
  ms: number;
}

/**
 * The lag percentiles of all events, and apart: the campaign's start (its MessageQueued, all written within a
 * second or two by the expander) and the sending that follows (every other event), whose lag is the one of a
 * dispatch in progress.
 */
export function lagFigures(sample: LagSample[]) {
  const of = (keep: (one: LagSample) => boolean) => percentiles(sample.filter(keep).map((one) => one.ms));
  return {
    all: of(() => true),
    campaignStart: of((one) => one.type === 'MessageQueued'),
    sending: of((one) => one.type !== 'MessageQueued'),
    targetP99: 250,
  };
}

/**
 * The product's projections, campaign-messages timed: for each event it applies, the time from the event's
 * row being written (created_at, a little before its commit) to the read model written, just before the
 * runner's commit. That is the lag a person sees on the campaign page.
 */
function withLag(lagMs: LagSample[]): Projection[] {
  return projections.map((projection) =>
    projection.name !== 'campaign-messages'
      ? projection
      : {
          ...projection,
          async project(events, ctx) {
            await projection.project(events, ctx);
            const now = Date.now();
            for (const event of events) lagMs.push({ type: event.type, ms: now - event.createdAt.getTime() });
          },
        },
  );
}

/** Percentiles of a sample, in its unit. */
export function percentiles(sample: number[]): { count: number; p50: number; p99: number; max: number } | null {
  if (sample.length === 0) return null;
  const sorted = [...sample].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** An active account with one SMS sender, rate limits as given (0: off), receiving every hour of every day. */
export async function benchAccount(
  app: AppContext,
  accountId: string,
  options: { senderRate?: number; address?: string } = {},
): Promise<string> {
  await createAccount(app, { accountId, name: 'Bench' }, system);
  await activateProactive(app, accountId, system);
  const { senderId } = await addSender(
    app,
    { accountId, channel: 'sms', address: options.address ?? '+14155550100', rate: options.senderRate ?? 0 },
    system,
  );
  await setSendRate(app, { accountId, channel: 'sms', rate: 0 }, system);
  const always = Object.fromEntries(WEEKDAYS.map((day) => [day, { start: '00:00', end: '24:00' }])) as WeeklyWindow;
  await setReceivingWindow(app, { accountId, channel: 'sms', window: always }, system);
  return senderId;
}

export function recipientsFrom(offset: number, count: number) {
  return Array.from({ length: count }, (_, index) => ({
    phone: `+1415${String(2010000 + offset + index).padStart(7, '0')}`,
    variables: { 1: `R${offset + index}` },
  }));
}

/** Waits until every campaign's read model says completed. */
export async function waitCompleted(
  db: AppContext['db'],
  accountId: string,
  campaignIds: string[],
  options: { timeoutMs?: number; progress?: () => Promise<string> } = {},
): Promise<void> {
  const started = performance.now();
  let lastLog = started;
  for (;;) {
    const rows = await db('campaigns')
      .where({ account_id: accountId, status: 'completed' })
      .whereIn('campaign_id', campaignIds)
      .count('* as count');
    if (Number(rows[0]?.count) === campaignIds.length) return;
    if (options.progress && performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      process.stderr.write(`  ${Math.round(performance.now() - started)} ms: ${await options.progress()}\n`);
    }
    if (performance.now() - started > (options.timeoutMs ?? 600_000))
      throw new Error(`campaigns did not complete within ${options.timeoutMs ?? 600_000} ms`);
    // Every 100 ms: this process is the app too, and its polling counts in the app's CPU per message.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Exactly once, counted at the sandbox: every recipient got one message from `from`, none got two, no other
 * number got any.
 */
export async function checkExactlyOnce(
  db: AppContext['db'],
  from: string,
  recipients: number,
): Promise<{ sandboxMessages: number; distinctRecipients: number; duplicates: number; exactlyOnce: boolean }> {
  const { rows } = await db.raw(
    `select count(*)::int as messages, count(distinct "to")::int as distinct_to
     from sandbox_messages where direction = 'outbound-api' and "from" = ?`,
    [from],
  );
  const messages = rows[0].messages as number;
  const distinct = rows[0].distinct_to as number;
  return {
    sandboxMessages: messages,
    distinctRecipients: distinct,
    duplicates: messages - distinct,
    exactlyOnce: messages === recipients && distinct === recipients,
  };
}

/**
 * The provider's ceiling: the `twilio` SDK alone (SMS, or WhatsApp template sends with `whatsappContentSid`) firing `count` messages, `inFlight` at a time, at the sandbox
 * process, with nothing else of the app running. Answers msg/s.
 */
export async function providerCeiling(
  databaseUrl: string,
  sandbox: SandboxProcess,
  options: { count: number; inFlight: number; from: string; whatsappContentSid?: string },
): Promise<{ messages: number; ms: number; messagesPerSecond: number }> {
  const db = createDb(databaseUrl);
  const credentials = await sandboxCredentials(db, {});
  await db.destroy();
  const client = createTwilioClient({ ...credentials, sandboxBaseUrl: () => sandbox.restUrl });
  const recipients = recipientsFrom(0, options.count);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (next < recipients.length) {
        const recipient = recipients[next++]!;
        // WhatsApp: a template send, as the dispatcher makes it (the sandbox checks the Content is approved).
        await client.messages.create(
          options.whatsappContentSid
            ? {
                from: `whatsapp:${options.from}`,
                to: `whatsapp:${recipient.phone}`,
                contentSid: options.whatsappContentSid,
                contentVariables: JSON.stringify(recipient.variables),
              }
            : { from: options.from, to: recipient.phone, body: `Hi ${recipient.variables[1]}` },
        );
      }
    }),
  );
  const ms = performance.now() - started;
  return { messages: options.count, ms: Math.round(ms), messagesPerSecond: Math.round((options.count / ms) * 1000) };
}

/** CPU ms per message, to three decimals (null where the process could not be measured). */
export function perMessage(value: number | null | undefined, messages: number): number | null {
  return value === null || value === undefined ? null : Math.round((value / messages) * 1000) / 1000;
}

/** A dispatch run's figures: msg/s, its share of the provider's ceiling, CPU per message of each process. */
export function dispatchFigures(
  messages: number,
  ms: number,
  cpuMs: Record<string, number | null>,
  ceilingMessagesPerSecond: number,
) {
  const messagesPerSecond = Math.round((messages / ms) * 1000);
  const total = (cpuMs.app ?? 0) + (cpuMs.postgres ?? 0) + (cpuMs.sandbox ?? 0);
  return {
    createToCompletedMs: Math.round(ms),
    messagesPerSecond,
    shareOfCeiling: Math.round((messagesPerSecond / ceilingMessagesPerSecond) * 100) / 100,
    targetShareOfCeiling: 0.6,
    cpuMs,
    cpuMsPerMessage: {
      app: perMessage(cpuMs.app, messages),
      postgres: perMessage(cpuMs.postgres, messages),
      sandbox: perMessage(cpuMs.sandbox, messages),
      all: perMessage(total, messages),
    },
    targetAppCpuMsPerMessage: 1,
    postgresShareOfCpu: cpuMs.postgres === null ? null : Math.round(((cpuMs.postgres ?? 0) / total) * 100) / 100,
  };
}
