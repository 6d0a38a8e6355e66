import { foldStream, handleCommand } from '../app/handler.ts';
import * as campaign from '../domain/campaign.ts';
import { DomainError } from '../domain/decider.ts';
import * as message from '../domain/message.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { WrongExpectedVersionError } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { Projection } from '../projections/types.ts';

/**
 * Reactors turn events into commands (DESIGN §1). They run on the projection runner, so each has a checkpoint and
 * sees every event at least once; their commands are idempotent, so a rerun after a crash is harmless. They are
 * kept out of the projection list: replaying one would repeat its side effects.
 */

const SYSTEM = (name: string, cause: RecordedEvent) => ({
  actor: `system:${name}`,
  correlationId: cause.metadata.correlationId,
  causationId: cause.id,
});

async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

function recipientsOf(events: RecordedEvent[]): campaign.Recipient[] {
  return events
    .filter((event) => event.type === 'RecipientsAdded')
    .flatMap((event) => (event.data as { recipients: campaign.Recipient[] }).recipients);
}

/** CampaignStarted → MessageQueued for every recipient, expecting no stream, so a rerun queues nothing twice. */
export function campaignExpander(deps: { store: EventStore }): Projection {
  return {
    name: 'reactor:campaign-expander',
    tables: [],
    handles: ['CampaignStarted'],
    async project(events) {
      for (const started of events) {
        const history = await deps.store.read(started.streamId);
        const state = foldStream(campaign, history);
        const draft = state.draft!;
        const { accountId, campaignId } = started.data as { accountId: string; campaignId: string };
        await inParallel(recipientsOf(history), 256, async (recipient) => {
          const queue: message.MessageCommand = {
            type: 'Queue',
            accountId,
            campaignId,
            messageId: recipient.messageId,
            consumerRef: recipient.consumerRef,
            channel: draft.channel,
            senderId: draft.senderId,
            sealed: recipient.sealed,
            ...(draft.whatsapp ? { contentSid: draft.whatsapp.contentSid } : {}),
            ...(draft.whatsapp?.fallback ? { fallbackSenderId: draft.whatsapp.fallback.senderId } : {}),
          };
          try {
            // Expecting no stream, without reading it first: a message queued by an earlier run is a conflict.
            await handleCommand(
              deps.store,
              message.messageStream(recipient.messageId),
              message,
              queue,
              SYSTEM('campaign-expander', started),
              { attempts: 1, known: { state: message.initialState(), revision: -1 } },
            );
          } catch (error) {
            if (!(error instanceof WrongExpectedVersionError)) throw error;
          }
        });
      }
    },
  };
}

/** CampaignCancelled → every message still waiting is skipped as `cancelled`; sent ones stay sent. */
export function campaignCanceller(deps: { store: EventStore }): Projection {
  return {
    name: 'reactor:campaign-canceller',
    tables: [],
    handles: ['CampaignCancelled'],
    async project(events) {
      for (const cancelled of events) {
        const { accountId, campaignId } = cancelled.data as { accountId: string; campaignId: string };
        const recipients = recipientsOf(await deps.store.read(cancelled.streamId));
        await inParallel(recipients, 16, async (recipient) => {
          const ids = { accountId, campaignId, messageId: recipient.messageId };
          try {
            await handleCommand(
              deps.store,
              message.messageStream(recipient.messageId),
              message,
              { type: 'Skip', ...ids, reason: 'cancelled' },
              SYSTEM('campaign-canceller', cancelled),
            );
          } catch (error) {
            // Not yet queued: the dispatcher skips it when it arrives, from the cancelled campaign.
            if (!(error instanceof DomainError && error.code === 'MESSAGE_NOT_FOUND')) throw error;
          }
        });
      }
    },
  };
}

/**
 * Completes a campaign once every message reached a terminal state. Its own tables keep the terminal messages
 * per campaign and their count beside the campaign's total, written in the runner's transaction, so each counts
 * once and a batch adds only what it finished.
 */
export function campaignCompletion(deps: { store: EventStore; db: Db; log: Logger }): Projection {
  return {
    name: 'reactor:campaign-completion',
    tables: ['completion_campaigns', 'completion_messages'],
    handles: ['CampaignStarted', 'MessageSkipped', 'MessageSent', 'MessageSendFailed', 'MessageFellBack'],
    async project(events, { trx, table }) {
      const touched = new Map<string, { cause: RecordedEvent; done: number }>();
      const key = (row: { account_id: string; campaign_id: string }) => `${row.account_id}\u0000${row.campaign_id}`;
      const terminal: { account_id: string; campaign_id: string; message_id: string }[] = [];
      for (const event of events) {
        const data = event.data as {
          accountId: string;
          campaignId: string;
          messageId?: string;
          retryable?: boolean;
          recipientCount?: number;
        };
        const ids = { account_id: data.accountId, campaign_id: data.campaignId };
        const entry = touched.get(key(ids)) ?? { cause: event, done: 0 };
        entry.cause = event;
        touched.set(key(ids), entry);
        if (event.type === 'CampaignStarted') {
          await trx(table('completion_campaigns'))
            .insert({ ...ids, total: data.recipientCount })
            .onConflict(['account_id', 'campaign_id'])
            .ignore();
        } else if (event.type === 'MessageFellBack') {
          // WhatsApp's outcome was not the last: the message is not done until its SMS is.
          const at = terminal.findIndex((one) => one.message_id === data.messageId);
          if (at >= 0) terminal.splice(at, 1);
          const removed = await trx(table('completion_messages'))
            .where({ ...ids, message_id: data.messageId! })
            .delete();
          entry.done -= removed;
        } else if (event.type !== 'MessageSendFailed' || !data.retryable) {
          terminal.push({ ...ids, message_id: data.messageId! });
        }
      }
      for (let start = 0; start < terminal.length; start += 1000) {
        const inserted: { account_id: string; campaign_id: string }[] = await trx(table('completion_messages'))
          .insert(terminal.slice(start, start + 1000))
          .onConflict()
          .ignore()
          .returning(['account_id', 'campaign_id']);
        for (const row of inserted) touched.get(key(row))!.done += 1;
      }
      for (const { cause, done } of touched.values()) {
        const { accountId, campaignId } = cause.data as { accountId: string; campaignId: string };
        const [row] = await trx(table('completion_campaigns'))
          .where({ account_id: accountId, campaign_id: campaignId })
          .increment('done', done)
          .returning(['total', 'done', 'completed']);
        if (!row || row.completed || row.done < row.total) continue;
        try {
          await handleCommand(
            deps.store,
            campaign.campaignStream(campaignId),
            campaign,
            { type: 'Complete', accountId, campaignId, now: new Date().toISOString() },
            SYSTEM('campaign-completion', cause),
          );
        } catch (error) {
          // Cancelled or failed meanwhile: nothing to complete.
          if (!(error instanceof DomainError)) throw error;
          deps.log.info({ accountId, campaignId, code: error.code }, 'a finished campaign was not completed');
        }
        await trx(table('completion_campaigns'))
          .where({ account_id: accountId, campaign_id: campaignId })
          .update({ completed: true });
      }
    },
  };
}
