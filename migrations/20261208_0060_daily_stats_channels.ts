import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F16 per channel: the channel each message is on, as the daily-stats projection learns it from MessageQueued and
 * MessageFellBack, so that a WhatsApp message's sent, delivered and read events (which do not name a channel)
 * count under WhatsApp, and a prioritized message's late WhatsApp receipt still counts there after its fallback.
 */
const migration: Migration = {
  name: '20261208_0060_daily_stats_channels',
  async up(db: Knex) {
    await db.schema.createTable('daily_stats_messages', (t) => {
      t.text('account_id').notNullable();
      t.text('message_id').notNullable();
      t.text('channel').notNullable();
      /** The provider's id of its WhatsApp send, whose receipts count under WhatsApp whatever came after. */
      t.text('whatsapp_provider_message_id').nullable();
      t.primary(['account_id', 'message_id']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('daily_stats_messages');
  },
};
export default migration;
