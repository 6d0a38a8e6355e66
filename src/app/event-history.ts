import * as campaign from '../domain/campaign.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import * as message from '../domain/message.ts';
import { normalizePhone } from '../domain/sms.ts';
import { formatPosition, type GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { PersonalData } from '../infra/personal-data.ts';

/** F21: the audit-events read model (projections/audit-events.ts), filtered the ways an auditor asks. */

export const EVENT_HISTORY_PAGE_SIZE = 50;

export interface EventHistoryFilters {
  stream: string;
  type: string;
  correlation: string;
  campaign: string;
  recipient: string;
  user: string;
  from: string;
  to: string;
  before: string;
}

export interface EventHistoryRow {
  event_id: string;
  type: string;
  stream_id: string;
  actor: string;
  actor_name: string | null;
  actor_email: string | null;
  data: unknown;
  metadata: unknown;
  occurred_at: Date;
  position: string;
  [column: string]: unknown;
}

/**
 * One page of the account's events, newest first, strictly before `before`. A filter that cannot be applied (a
 * number that is not one, a date that is not one) matches nothing or is left out, and `filterError` says why.
 */
export async function queryEventHistory(
  deps: { db: Db; personalData: PersonalData },
  accountId: string,
  filters: EventHistoryFilters,
  before: GlobalPosition | null,
): Promise<{ events: EventHistoryRow[]; nextCursor: string | null; filterError: string | null }> {
  const { db } = deps;
  const query = db('audit_events as e')
    .leftJoin('users as u', function () {
      this.on('u.account_id', '=', 'e.account_id').andOn('u.user_id', '=', 'e.actor');
    })
    .where('e.account_id', accountId)
    .orderBy([
      { column: 'e.commit_position', order: 'desc' },
      { column: 'e.prepare_position', order: 'desc' },
    ])
    .limit(EVENT_HISTORY_PAGE_SIZE + 1)
    .select('e.*', 'u.name as actor_name', 'u.email as actor_email');
  if (filters.stream) {
    // A trailing * filters by prefix, e.g. `campaign-*`.
    if (filters.stream.endsWith('*')) {
      query.andWhere('e.stream_id', 'like', `${filters.stream.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
    } else {
      query.andWhere('e.stream_id', filters.stream);
    }
  }
  if (filters.type) query.andWhere('e.type', filters.type);
  let filterError: string | null = null;
  if (filters.campaign) {
    query.andWhere((byCampaign) =>
      byCampaign
        .where('e.stream_id', campaign.campaignStream(filters.campaign))
        .orWhereRaw("e.data->>'campaignId' = ?", [filters.campaign]),
    );
  }
  if (filters.recipient) {
    // Numbers never appear in events: the recipient is found through the HMAC ref of their E.164 number.
    const phone = normalizePhone(filters.recipient);
    if (!phone) {
      filterError = `${filters.recipient} is not a phone number; give it with its country code, e.g. +14155550100.`;
      query.whereRaw('false');
    } else {
      const ref = await deps.personalData.consumerRef(accountId, phone);
      const messages = await db('campaign_messages')
        .where({ account_id: accountId, consumer_ref: ref })
        .pluck<string[]>('message_id');
      const conversations = await db('conversations')
        .where({ account_id: accountId, consumer_ref: ref })
        .pluck<string[]>('conversation_id');
      query.andWhere((byRecipient) =>
        byRecipient
          .whereIn('e.stream_id', [
            consumer.consumerStream(accountId, ref),
            ...messages.map(message.messageStream),
            ...conversations.map(conversation.conversationStream),
          ])
          .orWhereRaw("e.data->>'consumerRef' = ?", [ref]),
      );
    }
  }
  if (filters.user) query.andWhere('e.actor', filters.user);
  for (const [bound, operator] of [
    ['from', '>='],
    ['to', '<'],
  ] as const) {
    const value = filters[bound];
    if (!value) continue;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      filterError = `${bound === 'from' ? 'From' : 'To'} is not a date.`;
      continue;
    }
    // "To" a day means through the end of that day.
    if (bound === 'to' && /^\d{4}-\d{2}-\d{2}$/.test(value)) date.setUTCDate(date.getUTCDate() + 1);
    query.andWhere('e.occurred_at', operator, date);
  }
  if (filters.correlation) query.andWhere('e.correlation_id', filters.correlation);
  if (before) {
    query.andWhereRaw('(e.commit_position, e.prepare_position) < (?::numeric, ?::numeric)', [
      before.commit.toString(),
      before.prepare.toString(),
    ]);
  }
  const rows = await query;
  const page = rows.slice(0, EVENT_HISTORY_PAGE_SIZE);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > EVENT_HISTORY_PAGE_SIZE && last
      ? formatPosition({ commit: BigInt(last.commit_position), prepare: BigInt(last.prepare_position) })
      : null;
  return {
    events: page.map((row) => ({ ...row, position: `${row.commit_position}/${row.prepare_position}` })),
    nextCursor,
    filterError,
  };
}
