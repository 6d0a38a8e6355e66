import type { AccountEvent } from '../src/domain/account.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/**
 * Senders, send rates, skills, receiving windows and the status webhook, for the settings pages and the
 * dispatcher's and webhook reactor's lookups.
 */
export const accountSettingsProjection: Projection = {
  name: 'account-settings',
  tables: ['senders', 'account_send_rates', 'skills', 'receiving_windows', 'status_webhooks', 'conversation_settings'],
  handles: [
    'SenderAdded',
    'SenderRemoved',
    'SenderRateSet',
    'SendRateSet',
    'SkillAdded',
    'ReceivingWindowSet',
    'StatusWebhookSet',
    'StatusWebhookRemoved',
    'ConversationIdleTimeoutSet',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as AccountEvent & RecordedEvent;
      switch (event.type) {
        case 'SenderAdded': {
          const { accountId, senderId, channel, address, label, rate } = event.data;
          await trx(table('senders'))
            .insert({
              account_id: accountId,
              sender_id: senderId,
              channel,
              address,
              label,
              rate,
              added_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'sender_id'])
            .ignore();
          break;
        }
        case 'SenderRemoved':
          await trx(table('senders'))
            .where({ account_id: event.data.accountId, sender_id: event.data.senderId })
            .delete();
          break;
        case 'SenderRateSet':
          await trx(table('senders'))
            .where({ account_id: event.data.accountId, sender_id: event.data.senderId })
            .update({ rate: event.data.rate });
          break;
        case 'SendRateSet':
          await trx(table('account_send_rates'))
            .insert({ account_id: event.data.accountId, channel: event.data.channel, rate: event.data.rate })
            .onConflict(['account_id', 'channel'])
            .merge();
          break;
        case 'SkillAdded':
          if (event.data.isDefault) {
            await trx(table('skills')).where({ account_id: event.data.accountId }).update({ is_default: false });
          }
          await trx(table('skills'))
            .insert({
              account_id: event.data.accountId,
              skill_id: event.data.skillId,
              name: event.data.name,
              is_default: event.data.isDefault,
            })
            .onConflict(['account_id', 'skill_id'])
            .merge();
          break;
        case 'ReceivingWindowSet':
          await trx(table('receiving_windows'))
            .insert({
              account_id: event.data.accountId,
              channel: event.data.channel,
              window: JSON.stringify(event.data.window),
            })
            .onConflict(['account_id', 'channel'])
            .merge();
          break;
        case 'StatusWebhookSet':
          await trx(table('status_webhooks'))
            .insert({ account_id: event.data.accountId, url: event.data.url, updated_at: recorded.createdAt })
            .onConflict(['account_id'])
            .merge();
          break;
        case 'StatusWebhookRemoved':
          await trx(table('status_webhooks')).where({ account_id: event.data.accountId }).delete();
          break;
        case 'ConversationIdleTimeoutSet':
          await trx(table('conversation_settings'))
            .insert({ account_id: event.data.accountId, idle_timeout_minutes: event.data.minutes })
            .onConflict(['account_id'])
            .merge();
          break;
      }
    }
  },
};
