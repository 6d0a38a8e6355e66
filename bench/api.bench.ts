import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { projections } from '../projections/index.ts';
import { addSender, addSkill, setSendRate } from '../src/app/account-settings.ts';
import { activateProactive, createAccount } from '../src/app/accounts.ts';
import { createApiClient } from '../src/app/api-clients.ts';
import { createHandoff } from '../src/app/handoffs.ts';
import { loadConfig } from '../src/config.ts';
import { API_SCOPES } from '../src/domain/account-settings.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { freePort } from '../src/infra/postgres.ts';
import { waitForProjection } from '../src/projections/wait.ts';
import { createProjectionRunner, openApp } from '../src/wiring.ts';
import { benchPostgres } from './support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const system = { actor: 'bench' };
const ACCOUNTS = 10;
const RATE = Number(process.env.BENCH_RPS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

interface Summary {
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

function summarize(result: autocannon.Result): Summary {
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/**
 * The Outbound API under autocannon, with the app in its own process (`npm start`'s entry point) so that the
 * load generator does not share its event loop: POST campaign with 100 consumers each, then GET status, each at
 * a fixed 200 requests a second. Campaigns are scheduled a day ahead, so the figure is the API's own cost
 * (validation, sealing, appends, the read models it waits for), not dispatching. Ten accounts share the load so
 * the daily cap of 100,000 recipients per account is not reached.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('drop database if exists bench_api with (force)');
  await admin.query('create database bench_api');
  await admin.end();
  const url = new URL(server.url);
  url.pathname = '/bench_api';
  const databaseUrl = url.toString();

  // Accounts, senders, skills, handoffs and API clients, written before the app starts.
  const opened = await openApp(loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }), silentLogger);
  const runner = createProjectionRunner(opened.context);
  await runner.start();
  const accounts: { accountId: string; clientId: string; clientSecret: string; templateId: string }[] = [];
  for (let index = 0; index < ACCOUNTS; index++) {
    const accountId = `bench${index}`;
    const app = opened.context;
    await createAccount(app, { accountId, name: `Bench ${index}` }, system);
    await activateProactive(app, accountId, system);
    await addSender(app, { accountId, channel: 'sms', address: '+14155550100', rate: 0 }, system);
    await setSendRate(app, { accountId, channel: 'sms', rate: 0 }, system);
    await addSkill(app, { accountId, name: 'Sales' }, system);
    const handoff = await createHandoff(
      app,
      accountId,
      {
        name: 'Bench',
        skill: 'Sales',
        channels: [
          {
            type: 'sms-twilio',
            outboundnumber: '+14155550100',
            messageComponents: [{ type: 'body', content: 'Hi ${{1}}, your order is ready.', variables: ['1'] }],
          },
        ],
      },
      system,
    );
    const client = await createApiClient(app, { accountId, name: 'bench', scopes: [...API_SCOPES] }, system);
    accounts.push({
      accountId,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      templateId: handoff.handoffId,
    });
  }
  const head = await opened.context.store.headPosition();
  await waitForProjection(
    opened.context.db,
    projections.map((projection) => projection.name),
    head!,
    { timeoutMs: 30_000 },
  );
  await runner.stop();
  await opened.close();

  const port = await freePort();
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'warn', API_RATE_LIMIT_TPS: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    let exited: number | null = null;
    child.once('exit', (code) => {
      exited = code ?? -1;
    });
    for (let tries = 0; ; tries++) {
      if (exited !== null) throw new Error(`the app exited with ${exited}`);
      if (tries > 600) throw new Error('the app did not answer /readyz within 60 s');
      const ready = await fetch(`${base}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tokens: string[] = [];
    for (const account of accounts) {
      const response = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: account.clientId,
          client_secret: account.clientSecret,
        }),
      });
      tokens.push(((await response.json()) as { access_token: string }).access_token);
    }
    const sendAt = new Date(Date.now() + 86_400_000).toISOString();
    let sequence = 0;
    const campaignIds: string[][] = accounts.map(() => []);
    const postOne = (index: number) => {
      const account = accounts[index]!;
      return {
        method: 'POST' as const,
        path: `/api/v2/account/${account.accountId}/campaign`,
        headers: { authorization: `Bearer ${tokens[index]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          campaignName: `Bench ${sequence}`,
          skill: 'Sales',
          templateId: account.templateId,
          outboundNumber: '14155550100',
          consent: true,
          sendAt,
          consumers: Array.from({ length: 100 }, (_, consumer) => ({
            consumerContent: {
              sms: `1415${String(2_000_000 + ((sequence * 100 + consumer) % 7_000_000)).padStart(7, '0')}`,
            },
            variables: { 1: `C${consumer}` },
          })),
        }),
      };
    };

    // Warm-up, which also leaves campaigns for the GET run.
    for (let index = 0; index < ACCOUNTS; index++) {
      const request = postOne(index);
      const response = await fetch(`${base}${request.path}`, request);
      if (response.status !== 201)
        throw new Error(`warm-up POST answered ${response.status}: ${await response.text()}`);
      campaignIds[index]!.push(((await response.json()) as { proactiveCampaignId: string }).proactiveCampaignId);
      sequence++;
    }

    const post = await autocannon({
      url: base,
      connections: 20,
      overallRate: RATE,
      duration: SECONDS,
      timeout: 30,
      requests: [
        {
          setupRequest: (request: autocannon.Request) => {
            const index = sequence % ACCOUNTS;
            const built = postOne(index);
            sequence++;
            return { ...request, ...built };
          },
        },
      ],
    });

    // The GET run starts once the read models have taken in everything the POST run wrote.
    for (let tries = 0; tries < 600; tries++) {
      if (
        await fetch(`${base}/readyz`).then(
          (response) => response.ok,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let turn = 0;
    const get = await autocannon({
      url: base,
      connections: 20,
      overallRate: RATE,
      duration: SECONDS,
      timeout: 30,
      requests: [
        {
          setupRequest: (request: autocannon.Request) => {
            const index = turn++ % ACCOUNTS;
            return {
              ...request,
              method: 'GET',
              path: `/api/v2/account/${accounts[index]!.accountId}/campaign/${campaignIds[index]![0]}`,
              headers: { authorization: `Bearer ${tokens[index]}` },
            };
          },
        },
      ],
    });
    return {
      targetRps: RATE,
      seconds: SECONDS,
      consumersPerCampaign: 100,
      postCampaign: summarize(post),
      getStatus: summarize(get),
      target: 'p99 <= 100 ms at 200 rps',
    };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await server.stop();
  }
}
