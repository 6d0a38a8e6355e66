import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** The step each event marks, by the column that holds when it happened. */
const STEP_OF: Record<string, string> = {
  MessageQueued: 'queued_at',
  MessageSent: 'sent_at',
  MessageDelivered: 'delivered_at',
  MessageRead: 'read_at',
  MessageUndelivered: 'failed_at',
  MessageSendFailed: 'failed_at',
  MessageSkipped: 'skipped_at',
  MessageResponded: 'responded_at',
};
const STEPS = [...new Set(Object.values(STEP_OF))];

interface Row {
  account_id: string;
  message_id: string;
  campaign_id: string;
  segments?: number;
  [step: string]: string | number | undefined;
}

/**
 * When each recipient's message reached each step (LivePerson's transactions report: attemptedTime, sentTime,
 * deliveredTime …) and how many messages its text went out as. The first time a step is reached stays: applying
 * an event again, or a late duplicate callback, changes nothing.
 */
export const messageTimelineProjection: Projection = {
  name: 'message-timeline',
  tables: ['message_timeline'],
  handles: ['RecipientsAdded', ...Object.keys(STEP_OF)],
  async project(events: RecordedEvent[], { trx, table }) {
    const rows = new Map<string, Row>();
    const rowOf = (accountId: string, messageId: string, campaignId: string) => {
      const key = `${accountId}\u0000${messageId}`;
      let row = rows.get(key);
      if (!row) {
        row = { account_id: accountId, message_id: messageId, campaign_id: campaignId };
        rows.set(key, row);
      }
      return row;
    };
    for (const event of events) {
      const data = event.data as {
        accountId: string;
        campaignId: string;
        messageId?: string;
        retryable?: boolean;
        recipients?: { messageId: string; segments?: number }[];
      };
      if (event.type === 'RecipientsAdded') {
        for (const recipient of data.recipients ?? []) {
          rowOf(data.accountId, recipient.messageId, data.campaignId).segments = recipient.segments ?? 1;
        }
        continue;
      }
      // A failure that will be retried is not where the message ended.
      if (event.type === 'MessageSendFailed' && data.retryable) continue;
      const step = STEP_OF[event.type]!;
      const row = rowOf(data.accountId, data.messageId!, data.campaignId);
      row[step] ??= event.createdAt.toISOString();
    }
    const all = [...rows.values()].map((row) => ({
      segments: null,
      ...Object.fromEntries(STEPS.map((step) => [step, null])),
      ...row,
    }));
    for (let start = 0; start < all.length; start += 1000) {
      await trx.raw(
        `insert into ?? as t (account_id, message_id, campaign_id, segments, ${STEPS.join(', ')})
         select p.account_id, p.message_id, p.campaign_id, coalesce(p.segments, 1), ${STEPS.map((s) => `p.${s}`).join(', ')}
         from jsonb_to_recordset(?::jsonb) as p(account_id text, message_id text, campaign_id text, segments int,
           ${STEPS.map((s) => `${s} timestamptz`).join(', ')})
         on conflict (account_id, message_id) do update set
           segments = case when excluded.segments > 1 then excluded.segments else t.segments end,
           ${STEPS.map((s) => `${s} = coalesce(t.${s}, excluded.${s})`).join(',\n           ')}`,
        [table('message_timeline'), JSON.stringify(all.slice(start, start + 1000))],
      );
    }
  },
};
