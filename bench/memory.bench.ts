import { Readable } from 'node:stream';
import { createSmsCampaign } from '../src/app/campaigns.ts';
import { previewRecipients } from '../src/app/csv-recipients.ts';
import { load } from './cpu.ts';
import {
  benchAccount,
  checkExactlyOnce,
  freshDatabase,
  openBenchApp,
  recipientsFrom,
  startSandbox,
  system,
  waitCompleted,
} from './harness.ts';
import { benchPostgres } from './support.ts';

const API_CAMPAIGNS = Number(process.env.BENCH_CAMPAIGNS ?? 100);
const API_SIZE = 1000;
const CSV_ROWS = 10_000;
// An account sends at most 100,000 SMS a day (F15), counting the allowance its workers hold: the API campaigns
// go from two accounts, half each, and the CSV campaign from a third.
const API_ACCOUNTS = [
  { accountId: 'bench', from: '+14155550100' },
  { accountId: 'bench-2', from: '+14155550102' },
] as const;
const CSV_FROM = '+14155550101';

/**
 * Memory flat in the work: 100 API-sized campaigns of 1,000 recipients and one CSV campaign of 10,000 rows (in
 * the middle), all through this one process (web + projections + worker; the sandbox in its own process). RSS is
 * sampled with the count of messages at the sandbox: the figure at 10,000 messages and at 100,000, and the peak.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const url = await freshDatabase(server.url, 'bench_memory');
  const sandbox = await startSandbox(url);
  const bench = await openBenchApp(url, sandbox);
  const { app } = bench;
  const total = API_CAMPAIGNS * API_SIZE + CSV_ROWS;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const marks: { messages: number; rssMiB: number; heapUsedMiB: number; atMs: number }[] = [];
  const started = performance.now();
  let sampling = true;
  const sampleLoop = (async () => {
    while (sampling) {
      const { rows } = await app.db.raw(`select count(*)::int as n from sandbox_messages where "from" in (?, ?, ?)`, [
        ...API_ACCOUNTS.map((one) => one.from),
        CSV_FROM,
      ]);
      const memory = process.memoryUsage();
      marks.push({
        messages: rows[0].n,
        rssMiB: Math.round(memory.rss / 2 ** 20),
        heapUsedMiB: Math.round(memory.heapUsed / 2 ** 20),
        atMs: Math.round(performance.now() - started),
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  try {
    const senders: string[] = [];
    for (const one of API_ACCOUNTS) senders.push(await benchAccount(app, one.accountId, { address: one.from }));
    const csvSenderId = await benchAccount(app, 'bench-csv', { address: CSV_FROM });
    const deps = { ...app, personalData: app.channels.personalData };
    const campaignIds: string[][] = API_ACCOUNTS.map(() => []);
    let csvCampaignId = '';
    const loadBefore = load();
    for (let index = 0; index < API_CAMPAIGNS; index++) {
      const which = index % API_ACCOUNTS.length;
      const created = await createSmsCampaign(
        deps,
        {
          accountId: API_ACCOUNTS[which]!.accountId,
          name: `API ${index}`,
          senderId: senders[which]!,
          text: 'Hi ${{1}}',
          source: 'api',
          consent: true,
          recipients: recipientsFrom(index * API_SIZE, API_SIZE),
          publish: true,
        },
        system,
      );
      campaignIds[which]!.push(created.campaignId);
      if (index === Math.floor(API_CAMPAIGNS / 2)) {
        // The CSV campaign, as the web wizard makes it: the file parsed as a stream, then one campaign.
        const offset = API_CAMPAIGNS * API_SIZE;
        const csv = Readable.from(
          (function* () {
            yield 'phone,first_name\n';
            for (let row = 0; row < CSV_ROWS; row++)
              yield `+1415${String(2010000 + offset + row).padStart(7, '0')},Name ${row}\n`;
          })(),
        );
        const preview = await previewRecipients(
          { csv },
          { text: 'Hi {{first_name}}', optOut: '' },
          { maxRows: CSV_ROWS },
        );
        const fromCsv = await createSmsCampaign(
          deps,
          {
            accountId: 'bench-csv',
            name: 'CSV',
            senderId: csvSenderId,
            text: 'Hi {{first_name}}',
            source: 'web',
            consent: true,
            recipients: preview.valid,
            publish: true,
          },
          system,
        );
        csvCampaignId = fromCsv.campaignId;
      }
      // An integrator sends campaigns as they come, not all at once: wait while much is still queued.
      for (;;) {
        const { rows } = await app.db.raw(`select count(*)::int as n from dispatch_queue where account_id = any(?)`, [
          API_ACCOUNTS.map((one) => one.accountId),
        ]);
        if (rows[0].n < 5000) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    for (const [which, one] of API_ACCOUNTS.entries())
      await waitCompleted(app.db, one.accountId, campaignIds[which]!, { timeoutMs: 1_800_000 });
    await waitCompleted(app.db, 'bench-csv', [csvCampaignId], { timeoutMs: 1_800_000 });
    const ms = performance.now() - started;
    sampling = false;
    await sampleLoop;
    const at = (count: number) => marks.find((mark) => mark.messages >= count) ?? null;
    const at10k = at(10_000);
    const at100k = at(100_000);
    return {
      campaigns: campaignIds.flat().length + 1,
      messages: total,
      ms: Math.round(ms),
      messagesPerSecond: Math.round((total / ms) * 1000),
      rssAt10kMiB: at10k?.rssMiB ?? null,
      rssAt100kMiB: at100k?.rssMiB ?? null,
      ratio100kTo10k: at10k && at100k ? Math.round((at100k.rssMiB / at10k.rssMiB) * 100) / 100 : null,
      targetRatio: 1.25,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      targetPeakRssMiB: 300,
      api: await Promise.all(
        API_ACCOUNTS.map((one, which) => checkExactlyOnce(app.db, one.from, campaignIds[which]!.length * API_SIZE)),
      ),
      csv: await checkExactlyOnce(app.db, CSV_FROM, CSV_ROWS),
      load: { before: loadBefore, after: load() },
      samples: marks.filter((_, index) => index % 10 === 0),
    };
  } finally {
    sampling = false;
    clearInterval(sampler);
    await sampleLoop.catch(() => {});
    await bench.close();
    await sandbox.stop();
    await server.stop();
  }
}
