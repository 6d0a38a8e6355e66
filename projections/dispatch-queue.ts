import type { MessageEvent } from '../src/domain/message.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

type Action =
  | { kind: 'delete' }
  /** A delivery: the message leaves the queue, unless its row is a send in flight (see MessageDelivered below). */
  | { kind: 'delete-unless-sending' }
  | { kind: 'upsert'; campaignId: string; notBefore: string; leaseUntil: string | null; state: string };

/**
 * The messages that still need the dispatcher (DESIGN §4.2): due time, lease and state. A message leaves the queue
 * when it is sent, skipped or failed for good. Events of one message in a batch fold into one final action.
 */
export const dispatchQueueProjection: Projection = {
  name: 'dispatch-queue',
  tables: ['dispatch_queue'],
  handles: [
    'MessageQueued',
    'MessageDeferred',
    'MessageSkipped',
    'MessageSendStarted',
    'MessageSent',
    'MessageSendFailed',
    'MessageReconcileDeferred',
    'MessageFellBack',
    'MessageDelivered',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    const actions = new Map<string, { accountId: string; messageId: string; action: Action }>();
    for (const recorded of events) {
      const event = recorded as unknown as MessageEvent & RecordedEvent;
      const { accountId, campaignId, messageId } = event.data;
      const key = `${accountId}\u0000${messageId}`;
      let action: Action;
      switch (event.type) {
        case 'MessageQueued':
          action = {
            kind: 'upsert',
            campaignId,
            notBefore: recorded.createdAt.toISOString(),
            leaseUntil: null,
            state: 'queued',
          };
          break;
        case 'MessageFellBack':
          // Back in the queue as the prioritized channel's SMS, due at once.
          action = {
            kind: 'upsert',
            campaignId,
            notBefore: recorded.createdAt.toISOString(),
            leaseUntil: null,
            state: 'queued',
          };
          break;
        case 'MessageDeferred':
          action = { kind: 'upsert', campaignId, notBefore: event.data.until, leaseUntil: null, state: 'deferred' };
          break;
        case 'MessageSendStarted':
          action = {
            kind: 'upsert',
            campaignId,
            notBefore: event.data.startedAt,
            leaseUntil: event.data.leaseUntil,
            state: 'sending',
          };
          break;
        case 'MessageReconcileDeferred':
          // Still sending: leased until the provider is looked at again.
          action = {
            kind: 'upsert',
            campaignId,
            notBefore: event.data.checkedAt,
            leaseUntil: event.data.recheckAt,
            state: 'sending',
          };
          break;
        case 'MessageSendFailed':
          action = event.data.retryable
            ? { kind: 'upsert', campaignId, notBefore: event.data.retryAt!, leaseUntil: null, state: 'retrying' }
            : { kind: 'delete' };
          break;
        case 'MessageDelivered': {
          // On the prioritized channel a late WhatsApp receipt can come while the fallback SMS is being sent: that
          // send's row must stay, or a crash before MessageSent would leave the SMS unreconciled for good.
          const before = actions.get(key)?.action;
          if (before?.kind === 'upsert' && before.state === 'sending') action = before;
          else action = before ? { kind: 'delete' } : { kind: 'delete-unless-sending' };
          break;
        }
        default:
          action = { kind: 'delete' };
      }
      actions.set(key, { accountId, messageId, action });
    }
    const all = [...actions.values()];
    const upserts = all.filter((entry) => entry.action.kind === 'upsert');
    for (const kind of ['delete', 'delete-unless-sending'] as const) {
      const deletes = all.filter((entry) => entry.action.kind === kind);
      for (let start = 0; start < deletes.length; start += 1000) {
        const chunk = deletes.slice(start, start + 1000);
        await trx.raw(
          `delete from ?? q using jsonb_to_recordset(?::jsonb) as d(account_id text, message_id text)
           where q.account_id = d.account_id and q.message_id = d.message_id${kind === 'delete' ? '' : " and q.state <> 'sending'"}`,
          [
            table('dispatch_queue'),
            JSON.stringify(chunk.map((entry) => ({ account_id: entry.accountId, message_id: entry.messageId }))),
          ],
        );
      }
    }
    for (let start = 0; start < upserts.length; start += 1000) {
      const rows = upserts.slice(start, start + 1000).map((entry) => {
        const action = entry.action as Extract<Action, { kind: 'upsert' }>;
        return {
          account_id: entry.accountId,
          message_id: entry.messageId,
          campaign_id: action.campaignId,
          not_before: action.notBefore,
          lease_until: action.leaseUntil,
          state: action.state,
        };
      });
      await trx(table('dispatch_queue')).insert(rows).onConflict(['account_id', 'message_id']).merge();
    }
  },
};
