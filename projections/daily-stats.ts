import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';
import { messageChannels } from './message-channels.ts';

/** Which metric an event counts for (F16); skips also count under their reason. */
function metricsOf(event: RecordedEvent): string[] {
  const data = event.data as { retryable?: boolean; reason?: string; code?: string };
  switch (event.type) {
    case 'MessageQueued':
      return ['attempted'];
    case 'MessageSkipped':
      return ['skipped', `skipped:${data.reason}`];
    case 'MessageSent':
      return ['sent'];
    case 'MessageSendFailed':
      return data.retryable ? [] : ['failed', `error:${data.code ?? 'UNKNOWN'}`];
    case 'MessageDelivered':
      return ['delivered'];
    case 'MessageRead':
      return ['read'];
    case 'MessageUndelivered':
      return ['undelivered', `error:${data.code ?? 'UNKNOWN'}`];
    case 'MessageResponded':
      return ['responded'];
    case 'ConsumerOptedOut':
      return ['opt-outs'];
    case 'ConversationOpened':
      return ['conversations-created'];
    case 'ConversationClosed':
      return ['conversations-closed'];
    default:
      return [];
  }
}

/**
 * Account-level daily counts per channel: one fact row per counted event and metric (keyed on both, so an
 * event applied twice counts once); reports sum them over a date range.
 */
export const dailyStatsProjection: Projection = {
  name: 'daily-stats',
  tables: ['account_daily_stats', 'daily_stats_messages'],
  handles: [
    'MessageQueued',
    'MessageSkipped',
    'MessageSent',
    'MessageSendFailed',
    'MessageDelivered',
    'MessageRead',
    'MessageUndelivered',
    'MessageResponded',
    // Counts nothing; moves the message to its new channel (messageChannels).
    'MessageFellBack',
    'ConsumerOptedOut',
    'ConversationOpened',
    'ConversationClosed',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    const channels = await messageChannels(events, trx, table('daily_stats_messages'));
    const rows = events.flatMap((event) => {
      const channel = channels.apply(event);
      return metricsOf(event).map((metric) => ({
        event_id: event.id,
        account_id: String(event.data.accountId),
        day: event.createdAt.toISOString().slice(0, 10),
        channel,
        metric,
        campaign_id: (event.data as { campaignId?: string }).campaignId ?? null,
      }));
    });
    for (let start = 0; start < rows.length; start += 1000) {
      await trx(table('account_daily_stats'))
        .insert(rows.slice(start, start + 1000))
        .onConflict(['event_id', 'metric'])
        .ignore();
    }
    await channels.save();
  },
};
