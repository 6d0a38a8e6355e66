import { comparePositions, type GlobalPosition, type RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';
import { messageChannels } from './message-channels.ts';

interface OutcomeKey {
  channel: string;
  outcome: 'sent' | 'failed' | 'skipped' | 'deferred';
  code: string;
  reason: string;
  retryable: boolean;
}

function outcomeOf(event: RecordedEvent, channel: string): OutcomeKey | null {
  const data = event.data as { code?: string; reason?: string; retryable?: boolean };
  const none = { channel, code: '', reason: '', retryable: false };
  switch (event.type) {
    case 'MessageSent':
      return { ...none, outcome: 'sent' };
    case 'MessageSendFailed':
      return { ...none, outcome: 'failed', code: data.code ?? 'UNKNOWN', retryable: data.retryable === true };
    case 'MessageSkipped':
      return { ...none, outcome: 'skipped', reason: data.reason ?? 'unknown' };
    case 'MessageDeferred':
      return { ...none, outcome: 'deferred' };
    default:
      // MessageQueued and MessageFellBack: no outcome, only the message's channel (messageChannels).
      return null;
  }
}

const keyOf = (key: OutcomeKey) =>
  `${key.channel}\u0001${key.outcome}\u0001${key.code}\u0001${key.reason}\u0001${key.retryable}`;

interface TotalRow extends OutcomeKey {
  total: string | number;
  commit_position: string;
  prepare_position: string;
}

/**
 * What happened to messages, summed per channel, outcome and code or reason: the source of the
 * `outbound_message_outcomes_total` metric, so that every process reports the same global figure and a scrape
 * reads a few rows. Each total remembers the last event it counted; an event at or before it is not counted again.
 */
export const messageOutcomesProjection: Projection = {
  name: 'message-outcomes',
  tables: ['message_outcome_totals', 'message_outcome_messages'],
  handles: [
    'MessageQueued',
    'MessageFellBack',
    'MessageSent',
    'MessageSendFailed',
    'MessageSkipped',
    'MessageDeferred',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    const channels = await messageChannels(events, trx, table('message_outcome_messages'));
    const stored = new Map<string, { total: number; position: GlobalPosition }>();
    for (const row of (await trx(table('message_outcome_totals')).select('*')) as TotalRow[]) {
      stored.set(keyOf(row), {
        total: Number(row.total),
        position: { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) },
      });
    }
    const changed = new Map<string, OutcomeKey & { total: number; position: GlobalPosition }>();
    for (const event of events) {
      const key = outcomeOf(event, channels.apply(event));
      if (!key) continue;
      const id = keyOf(key);
      const current = changed.get(id) ?? stored.get(id);
      if (current && comparePositions(event.position, current.position) <= 0) continue;
      changed.set(id, { ...key, total: (current?.total ?? 0) + 1, position: event.position });
    }
    for (const row of changed.values()) {
      await trx(table('message_outcome_totals'))
        .insert({
          channel: row.channel,
          outcome: row.outcome,
          code: row.code,
          reason: row.reason,
          retryable: row.retryable,
          total: row.total,
          commit_position: row.position.commit.toString(),
          prepare_position: row.position.prepare.toString(),
        })
        .onConflict(['channel', 'outcome', 'code', 'reason', 'retryable'])
        .merge();
    }
    await channels.save();
  },
};
