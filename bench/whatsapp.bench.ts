import { availableParallelism } from 'node:os';
import { addSender, setSendRate } from '../src/app/account-settings.ts';
import type { AppContext } from '../src/app/context.ts';
import { draftTemplate, pollTemplateApprovals, readTemplate, submitTemplate } from '../src/app/templates.ts';
import { createWhatsAppCampaign } from '../src/app/whatsapp-campaigns.ts';
import { waitForProjection } from '../src/projections/wait.ts';
import { cpuMeter, load } from './cpu.ts';
import {
  benchAccount,
  checkExactlyOnce,
  dispatchFigures,
  freshDatabase,
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
/** The prioritized variant's share of numbers that are not on WhatsApp (they get the SMS); 0 skips it. */
const UNREACHABLE = Number(process.env.BENCH_UNREACHABLE ?? 0.3);
const CEILING_IN_FLIGHT = 48;
const FROM = '+14155550100';

/**
 * A 10,000-recipient WhatsApp campaign (an approved text template with one variable, rate limits off) against
 * the sandbox in its own process through the real twilio SDK, the app in this process as `npm start` runs it. In
 * the same run, first, the provider's ceiling for WhatsApp: the SDK alone sending the same template to the same
 * sandbox process, 48 in flight. Then, unless BENCH_UNREACHABLE=0, the prioritized variant: 30% of another
 * 10,000 numbers are not on WhatsApp (63003) and fall back to SMS. Exactly once is counted at the sandbox.
 */
export async function run(): Promise<Record<string, unknown>> {
  const server = await benchPostgres();
  const url = await freshDatabase(server.url, 'bench_whatsapp');
  const sandbox = await startSandbox(url);
  const bench = await openBenchApp(url, sandbox);
  const { app } = bench;
  try {
    const smsSenderId = await benchAccount(app, 'bench', { address: FROM });
    const { senderId } = await addSender(
      app,
      { accountId: 'bench', channel: 'whatsapp', address: FROM, rate: 0 },
      system,
    );
    await setSendRate(app, { accountId: 'bench', channel: 'whatsapp', rate: 0 }, system);
    const template = await approvedTemplate(app);

    const ceilingLoad = load();
    const ceilingCpu = await cpuMeter({ postgres: server.pid, sandbox: sandbox.pid });
    const ceiling = await providerCeiling(url, sandbox, {
      count: RECIPIENTS,
      inFlight: CEILING_IN_FLIGHT,
      from: '+14155550199',
      whatsappContentSid: template.contentSid,
    });
    const ceilingCpuMs = await ceilingCpu();
    const campaign = (offset: number, fallback: boolean) =>
      createWhatsAppCampaign(
        { ...app, personalData: app.channels.personalData },
        {
          accountId: 'bench',
          name: fallback ? 'Bench prioritized' : 'Bench WhatsApp',
          templateId: template.templateId,
          senderId,
          fallback: fallback ? { senderId: smsSenderId, text: 'Hi ${{1}}' } : null,
          recipients: recipientsFrom(offset, RECIPIENTS),
          source: 'api',
          consent: true,
          publish: true,
        },
        system,
      );

    const measured = (create: () => Promise<{ campaignId: string }>) =>
      measure(app, { postgres: server.pid, sandbox: sandbox.pid }, ceiling.messagesPerSecond, create);
    const whatsapp = await measured(() => campaign(0, false));
    const whatsappCheck = await checkExactlyOnce(app.db, `whatsapp:${FROM}`, RECIPIENTS);
    let prioritized: Record<string, unknown> | null = null;
    if (UNREACHABLE > 0) {
      const unreachable = recipientsFrom(RECIPIENTS, Math.round(RECIPIENTS * UNREACHABLE)).map((r) => r.phone);
      await sandbox.setFaults({ whatsappUnreachable: unreachable });
      prioritized = {
        unreachableShare: UNREACHABLE,
        // Recipients per second; an unreachable one costs two provider requests (63003, then the SMS).
        ...(await measured(() => campaign(RECIPIENTS, true))),
        ...(await prioritizedOnce(app, RECIPIENTS, unreachable.length)),
      };
    }
    return {
      recipients: RECIPIENTS,
      // The development machine is shared with other sessions and a CI loop: the figures are worth as much as
      // the load beside them; the ratio to the ceiling measured in the same run is the comparable one.
      machineBusy: ceilingLoad.load1 > availableParallelism(),
      providerCeiling: {
        channel: 'whatsapp',
        inFlight: CEILING_IN_FLIGHT,
        ms: ceiling.ms,
        messagesPerSecond: ceiling.messagesPerSecond,
        cpuMsPerMessage: {
          sdk: perMessage(ceilingCpuMs.app, RECIPIENTS),
          sandbox: perMessage(ceilingCpuMs.sandbox, RECIPIENTS),
          postgres: perMessage(ceilingCpuMs.postgres, RECIPIENTS),
        },
        load: ceilingLoad,
      },
      whatsapp: { ...whatsapp, ...whatsappCheck },
      prioritized,
    };
  } finally {
    await bench.close();
    await sandbox.stop();
    await server.stop();
  }
}

/** One campaign from its creation until its read model says completed: msg/s and CPU per message. */
async function measure(
  app: AppContext,
  pids: { postgres: number | null; sandbox: number },
  ceilingMessagesPerSecond: number,
  create: () => Promise<{ campaignId: string }>,
) {
  const loadBefore = load();
  const cpu = await cpuMeter(pids);
  const started = performance.now();
  const created = await create();
  const publishedMs = performance.now() - started;
  const statuses = async () => {
    const rows = await app
      .db('campaign_messages')
      .where({ account_id: 'bench', campaign_id: created.campaignId })
      .groupBy('channel', 'status')
      .select('channel', 'status')
      .count('* as count');
    return Object.fromEntries(rows.map((row) => [`${row.channel} ${row.status}`, Number(row.count)]));
  };
  await waitCompleted(app.db, 'bench', [created.campaignId], {
    progress: async () => JSON.stringify(await statuses()),
  });
  const ms = performance.now() - started;
  const cpuMs = await cpu();
  return {
    createAndPublishMs: Math.round(publishedMs),
    ...dispatchFigures(RECIPIENTS, ms, cpuMs, ceilingMessagesPerSecond),
    load: { before: loadBefore, after: load() },
    statuses: await statuses(),
  };
}

/** The prioritized campaign, counted at the sandbox: WhatsApp for the reachable, one SMS for each of the others. */
async function prioritizedOnce(app: AppContext, recipients: number, unreachable: number) {
  const { rows } = await app.db.raw(
    `select "from", count(*)::int as messages, count(distinct "to")::int as distinct_to
     from sandbox_messages where direction = 'outbound-api' and "to" = any(?) group by "from"`,
    [recipientsFrom(recipients, recipients).flatMap((r) => [r.phone, `whatsapp:${r.phone}`])],
  );
  const by = (from: string) =>
    rows.find((row: { from: string }) => row.from === from) ?? { messages: 0, distinct_to: 0 };
  const whatsapp = by(`whatsapp:${FROM}`);
  const sms = by(FROM);
  return {
    sandboxWhatsApp: whatsapp.messages,
    sandboxSms: sms.messages,
    exactlyOnce:
      whatsapp.messages === recipients - unreachable &&
      whatsapp.distinct_to === whatsapp.messages &&
      sms.messages === unreachable &&
      sms.distinct_to === sms.messages,
  };
}

async function approvedTemplate(app: AppContext): Promise<{ templateId: string; contentSid: string }> {
  const deps = { ...app, templates: app.channels.whatsappTemplates };
  const { templateId } = await draftTemplate(
    app,
    'bench',
    {
      name: 'bench_hello',
      language: 'en',
      category: 'UTILITY',
      header: null,
      body: 'Hello {{1}}, your order has shipped.',
      footer: null,
      buttons: { type: 'none' },
      samples: { '1': 'Ana' },
    },
    system,
  );
  const submitted = await submitTemplate(deps, 'bench', templateId, system);
  await waitForProjection(app.db, 'templates', submitted.position!);
  await pollTemplateApprovals(deps);
  const template = await readTemplate(app, templateId);
  if (template.status !== 'approved') throw new Error(`the bench template is ${template.status}`);
  return { templateId, contentSid: template.contentSid! };
}
