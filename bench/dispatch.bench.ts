import { createSmsCampaign } from '../src/app/campaigns.ts';
import { cpuMeter, load } from './cpu.ts';
import {
  benchAccount,
  checkExactlyOnce,
  dispatchFigures,
  freshDatabase,
  type LagSample,
  lagFigures,
  openBenchApp,
  perMessage,
  providerCeiling,
  recipientsFrom,
  startSandbox,
  system,
  waitCompleted,
} from './harness.ts';
import { benchPostgres } from './support.ts';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 10_000);
const CEILING_IN_FLIGHT = 48;
const FROM = '+14155550100';

/**
 * A 10,000-recipient SMS campaign with rate limits off, against the sandbox in its own process through the real
 * twilio SDK, the app in this process (web + projections + worker, as `npm start` runs). In the same run, first,
 * the provider's ceiling: the SDK alone firing the same messages at the same sandbox process, 48 in flight.
 * Dispatch is measured from creating the campaign to its read model Completed; CPU of this process, of Postgres
 * (postmaster and backends) and of the sandbox over that time; exactly one sandbox message per recipient.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const url = await freshDatabase(server.url, 'bench_dispatch');
  const sandbox = await startSandbox(url);
  const lagMs: LagSample[] = [];
  const bench = await openBenchApp(url, sandbox, { lagMs });
  const { app } = bench;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  try {
    const senderId = await benchAccount(app, 'bench', { address: FROM });
    // The ceiling first, while the app is idle (its loops poll, nothing to do), from another sender number.
    const loadBeforeCeiling = load();
    const ceilingCpu = await cpuMeter({ postgres: server.pid, sandbox: sandbox.pid });
    const ceiling = await providerCeiling(url, sandbox, {
      count: RECIPIENTS,
      inFlight: CEILING_IN_FLIGHT,
      from: '+14155550199',
    });
    const ceilingCpuMs = await ceilingCpu();

    const loadBefore = load();
    const cpu = await cpuMeter({ postgres: server.pid, sandbox: sandbox.pid });
    lagMs.length = 0;
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
        recipients: recipientsFrom(0, RECIPIENTS),
        publish: true,
      },
      system,
    );
    const publishedMs = performance.now() - started;
    await waitCompleted(app.db, 'bench', [created.campaignId], {
      progress: async () => `${(await checkExactlyOnce(app.db, FROM, RECIPIENTS)).sandboxMessages} sent`,
    });
    const ms = performance.now() - started;
    const cpuMs = await cpu();
    const loadAfter = load();
    const check = await checkExactlyOnce(app.db, FROM, RECIPIENTS);
    const statuses = await app
      .db('campaign_messages')
      .where({ account_id: 'bench' })
      .groupBy('status')
      .select('status')
      .count('* as count');
    return {
      recipients: RECIPIENTS,
      providerCeiling: {
        inFlight: CEILING_IN_FLIGHT,
        ms: ceiling.ms,
        messagesPerSecond: ceiling.messagesPerSecond,
        cpuMsPerMessage: {
          sdk: perMessage(ceilingCpuMs.app, RECIPIENTS),
          sandbox: perMessage(ceilingCpuMs.sandbox, RECIPIENTS),
          postgres: perMessage(ceilingCpuMs.postgres, RECIPIENTS),
        },
        load: loadBeforeCeiling,
      },
      dispatch: {
        createAndPublishMs: Math.round(publishedMs),
        ...dispatchFigures(RECIPIENTS, ms, cpuMs, ceiling.messagesPerSecond),
        load: { before: loadBefore, after: loadAfter },
      },
      // From an event's row to its campaign_messages row written, for every message event of the campaign.
      projectionLagMs: lagFigures(lagMs),
      ...check,
      statuses: Object.fromEntries(statuses.map((row) => [row.status, Number(row.count)])),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
    };
  } finally {
    clearInterval(sampler);
    await bench.close();
    await sandbox.stop();
    await server.stop();
  }
}
