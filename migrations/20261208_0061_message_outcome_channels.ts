import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * The message-outcomes projection's own copy of each message's channel (as daily-stats keeps one), so that a
 * WhatsApp message's sent and failed events, which do not name a channel, count under WhatsApp in the
 * `outbound_message_outcomes_total` metric, and its fallback SMS under SMS.
 */
const migration: Migration = {
  name: '20261208_0061_message_outcome_channels',
  async up(db: Knex) {
    await db.schema.createTable('message_outcome_messages', (t) => {
      t.text('account_id').notNullable();
      t.text('message_id').notNullable();
      t.text('channel').notNullable();
      t.text('whatsapp_provider_message_id').nullable();
      t.primary(['account_id', 'message_id']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('message_outcome_messages');
  },
};
export default migration;
