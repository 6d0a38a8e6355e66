import { comparePositions, type GlobalPosition, type RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

interface OutcomeKey {
  channel: string;
  outcome: 'sent' | 'failed' | 'skipped' | 'deferred';
  code: string;
  reason: string;
  retryable: boolean;
}

function outcomeOf(event: RecordedEvent): OutcomeKey {
  const data = event.data as { channel?: string; code?: string; reason?: string; retryable?: boolean };
  // Message events name their channel only where it can differ from the campaign's SMS (MessageQueued today).
  const channel = data.channel ?? 'sms';
  const none = { channel, code: '', reason: '', retryable: false };
  switch (event.type) {
    case 'MessageSent':
      return { ...none, outcome: 'sent' };
    case 'MessageSendFailed':
      return { ...none, outcome: 'failed', code: data.code ?? 'UNKNOWN', retryable: data.retryable === true };
    case 'MessageSkipped':
      return { ...none, outcome: 'skipped', reason: data.reason ?? 'unknown' };
    default:
      return { ...none, outcome: 'deferred' };
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
  tables: ['message_outcome_totals'],
  handles: ['MessageSent', 'MessageSendFailed', 'MessageSkipped', 'MessageDeferred'],
  async project(events: RecordedEvent[], { trx, table }) {
    const stored = new Map<string, { total: number; position: GlobalPosition }>();
    for (const row of (await trx(table('message_outcome_totals')).select('*')) as TotalRow[]) {
      stored.set(keyOf(row), {
        total: Number(row.total),
        position: { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) },
      });
    }
    const changed = new Map<string, OutcomeKey & { total: number; position: GlobalPosition }>();
    for (const event of events) {
      const key = outcomeOf(event);
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
  },
};
