import { startDueCampaigns } from '../app/campaigns.ts';
import type { AppContext } from '../app/context.ts';
import { closeIdleConversations } from '../app/conversations.ts';
import { shredExpiredCampaigns } from '../app/retention.ts';
import { pollTemplateApprovals } from '../app/templates.ts';
import { fallBackOnMissingReceipts } from '../app/whatsapp-fallback.ts';
import type { Channels } from '../channels/providers.ts';
import { createMessageRedactor } from '../channels/twilio-redaction.ts';
import { BatchingEventStore } from '../eventstore/batching.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import { type CronJob, CronScheduler } from './cron.ts';
import { Dispatcher } from './dispatcher.ts';
import { DispatchQueue } from './queue.ts';
import { SendRateLimiter } from './rate-limits.ts';
import { campaignCanceller, campaignCompletion, campaignExpander } from './reactors.ts';
import { statusWebhookReactor, WebhookDeliverer } from './webhooks.ts';

export interface Worker {
  dispatcher: Dispatcher;
  stop(): Promise<void>;
}

/** The worker role: reactors, the dispatcher, and the cron jobs (scheduled starts). */
export async function startWorker(
  app: Omit<AppContext, 'runner'>,
  channels: Channels,
  options: { now?: () => Date } = {},
): Promise<Worker> {
  // The hot path's many concurrent appends and reads share round trips (src/eventstore/batching.ts).
  const store = new BatchingEventStore(app.store);
  const hot = { ...app, store };
  const reactors = new ProjectionRunner({
    store,
    db: app.db,
    log: app.log,
    projections: [campaignExpander(hot), campaignCanceller(hot), campaignCompletion(hot), statusWebhookReactor()],
    batchSize: 200,
  });
  await reactors.start();
  const dispatcher = new Dispatcher({
    store,
    db: app.db,
    log: app.log,
    queue: new DispatchQueue(app.db),
    personalData: channels.personalData,
    providers: channels.providers,
    lineTypes: channels.lineTypes,
    limiter: new SendRateLimiter(app.db),
    callbackBaseUrl: channels.baseUrl,
    leaseMs: app.config.DISPATCH_LEASE_MS,
    giveUpMs: app.config.DISPATCH_GIVE_UP_MS,
    concurrency: app.config.DISPATCH_CONCURRENCY,
    now: options.now,
  });
  dispatcher.start();
  const webhooks = new WebhookDeliverer({
    db: app.db,
    log: app.log,
    retryBaseMs: app.config.WEBHOOK_RETRY_BASE_MS,
    maxAttempts: app.config.WEBHOOK_MAX_ATTEMPTS,
  });
  webhooks.start();
  const cron = new CronScheduler(app.db, app.log);
  cron.start([
    {
      name: 'close-idle-conversations',
      schedule: '*/30 * * * * *',
      run: async () => {
        await closeIdleConversations(app, options.now?.() ?? new Date());
      },
    },
    {
      name: 'whatsapp-receipt-fallback',
      schedule: '*/2 * * * * *',
      run: async () => {
        await fallBackOnMissingReceipts(app, options.now?.() ?? new Date());
      },
    },
    {
      name: 'start-scheduled-campaigns',
      schedule: '*/5 * * * * *',
      run: async () => {
        await startDueCampaigns(app, options.now?.() ?? new Date());
      },
    },
    {
      name: 'shred-expired-campaigns',
      schedule: '17 */10 * * * *',
      run: async () => {
        const redactor = createMessageRedactor(app.config, channels);
        await shredExpiredCampaigns(
          { ...app, personalData: channels.personalData, redactor },
          options.now?.() ?? new Date(),
        );
      },
    },
  ]);
  // Template approvals are polled every TEMPLATE_POLL_MS (finer than cron's seconds), under the same lock.
  const templatePoll: CronJob = {
    name: 'poll-template-approvals',
    schedule: '',
    run: async () => {
      await pollTemplateApprovals({ ...app, templates: channels.whatsappTemplates });
    },
  };
  const templateTimer = setInterval(() => void cron.runOnce(templatePoll), app.config.TEMPLATE_POLL_MS);
  return {
    dispatcher,
    stop: async () => {
      clearInterval(templateTimer);
      await cron.stop();
      await webhooks.stop();
      await dispatcher.stop();
      await reactors.stop();
    },
  };
}
