import { type ChildProcess, spawn } from 'node:child_process';
import { addSender } from '../src/app/account-settings.ts';
import { createSmsCampaign } from '../src/app/campaigns.ts';
import type { AppContext } from '../src/app/context.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { openApp } from '../src/wiring.ts';
import { load } from './cpu.ts';
import {
  benchAccount,
  checkExactlyOnce,
  freshDatabase,
  recipientsFrom,
  root,
  type SandboxProcess,
  startSandbox,
  system,
  waitCompleted,
  waitForLine,
} from './harness.ts';
import { benchPostgres } from './support.ts';

const DELAY_MS = 50;
const CONCURRENCY = 4;
const PER_WORKER = Number(process.env.BENCH_PER_WORKER ?? 1200);
const MAX_WORKERS = Number(process.env.BENCH_MAX_WORKERS ?? 4);
const LIMITED_RATE = 20;

/**
 * Scale-out: N worker processes (`ROLE=worker`, the product's entry point) on one database, against the sandbox
 * in its own process answering each send after 50 ms, each worker with DISPATCH_CONCURRENCY=4, so that one worker
 * is bound by the provider's latency (about 80 msg/s) and not by this machine's cores. For N = 1…4 a campaign of
 * 1,200·N recipients; throughput is counted at the sandbox, from its first message to its last. Then a second
 * run with the sender's rate at 20/s and N = 4: no second, counted at the sandbox, may see more than 20.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const url = await freshDatabase(server.url, 'bench_scale');
  const sandbox = await startSandbox(url);
  await sandbox.setFaults({ delayMs: DELAY_MS });
  // This process is the web role: it creates campaigns; the workers project and dispatch.
  const config = loadConfig({ DATABASE_URL: url, PORT: '0', LOG_LEVEL: 'silent', TWILIO_SANDBOX_URL: sandbox.restUrl });
  const opened = await openApp(config, silentLogger);
  const app: AppContext = { ...opened.context, runner: null };
  const workers: ChildProcess[] = [];
  try {
    await benchAccount(app, 'bench', { address: '+14155550100' });
    const limited = await benchAccount(app, 'limited', { address: '+14155550200', senderRate: LIMITED_RATE });
    const table: Record<string, unknown>[] = [];
    let offset = 0;
    let single = 0;
    for (let n = 1; n <= MAX_WORKERS; n++) {
      while (workers.length < n) workers.push(await startWorkerProcess(url, sandbox));
      const count = PER_WORKER * n;
      const from = `+1415555${String(1000 + n).padStart(4, '0')}`;
      const senderId = await addSenderFor(app, 'bench', from);
      const loadBefore = load();
      const measured = await campaign(app, 'bench', senderId, from, offset, count);
      offset += count;
      if (n === 1) single = measured.messagesPerSecond;
      table.push({
        workers: n,
        ...measured,
        scaling: Math.round((measured.messagesPerSecond / single) * 100) / 100,
        target: Math.round(0.8 * n * 100) / 100,
        load: { before: loadBefore, after: load() },
      });
    }
    const loadBefore = load();
    const rateRun = await campaign(app, 'limited', limited, '+14155550200', offset, 600);
    const perSecond = await busiestSeconds(app, '+14155550200');
    return {
      delayMs: DELAY_MS,
      concurrency: CONCURRENCY,
      table,
      senderRate: {
        rate: LIMITED_RATE,
        workers: workers.length,
        ...rateRun,
        ...perSecond,
        neverExceeded: perSecond.busiestClockSecond <= LIMITED_RATE && perSecond.busiestSlidingSecond <= LIMITED_RATE,
        load: { before: loadBefore, after: load() },
      },
    };
  } finally {
    await Promise.all(
      workers.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await opened.close();
    await sandbox.stop();
    await server.stop();
  }
}

async function startWorkerProcess(databaseUrl: string, sandbox: SandboxProcess): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ROLE: 'worker',
      DATABASE_URL: databaseUrl,
      TWILIO_SANDBOX_URL: sandbox.restUrl,
      DISPATCH_CONCURRENCY: String(CONCURRENCY),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(child, 'worker started');
  child.stdout!.resume();
  return child;
}

async function addSenderFor(app: AppContext, accountId: string, address: string) {
  return (await addSender(app, { accountId, channel: 'sms', address, rate: 0 }, system)).senderId;
}

async function campaign(
  app: AppContext,
  accountId: string,
  senderId: string,
  from: string,
  offset: number,
  count: number,
) {
  const started = performance.now();
  const created = await createSmsCampaign(
    { ...app, personalData: app.channels.personalData },
    {
      accountId,
      name: `Scale ${offset}`,
      senderId,
      text: 'Hi ${{1}}',
      source: 'api',
      consent: true,
      recipients: recipientsFrom(offset, count),
      publish: true,
    },
    system,
  );
  await waitCompleted(app.db, accountId, [created.campaignId], { timeoutMs: 900_000 });
  const ms = performance.now() - started;
  const { rows } = await app.db.raw(
    `select extract(epoch from max(date_created) - min(date_created)) * 1000 as span_ms
     from sandbox_messages where "from" = ?`,
    [from],
  );
  const spanMs = Number(rows[0].span_ms);
  return {
    messages: count,
    publishToCompletedMs: Math.round(ms),
    sandboxSpanMs: Math.round(spanMs),
    messagesPerSecond: Math.round(((count - 1) / spanMs) * 1000),
    ...(await checkExactlyOnce(app.db, from, count)),
  };
}

/** The most messages the sandbox took from `from` in one clock second, and in any 1,000 ms window. */
async function busiestSeconds(app: AppContext, from: string) {
  const { rows: clock } = await app.db.raw(
    `select count(*)::int as n from sandbox_messages where "from" = ?
     group by date_trunc('second', date_created) order by n desc limit 1`,
    [from],
  );
  const { rows: sliding } = await app.db.raw(
    `select max(n)::int as n from (
       select count(*) over (order by date_created range between current row and interval '999 milliseconds' following) as n
       from sandbox_messages where "from" = ?) windows`,
    [from],
  );
  return { busiestClockSecond: clock[0]?.n ?? 0, busiestSlidingSecond: sliding[0]?.n ?? 0 };
}
