import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * The running totals behind `outbound_message_outcomes_total` (the message-outcomes projection): one row per
 * channel, outcome and code or reason, so a scrape reads a handful of rows however many messages were sent. Each
 * row keeps the position of the last event it counted, which makes applying an event twice count it once.
 */
const migration: Migration = {
  name: '20261201_0017_message_outcomes',
  async up(db: Knex) {
    await db.schema.createTable('message_outcome_totals', (t) => {
      t.text('channel').notNullable();
      t.text('outcome').notNullable();
      t.text('code').notNullable();
      t.text('reason').notNullable();
      t.boolean('retryable').notNullable();
      t.bigInteger('total').notNullable();
      t.decimal('commit_position', 20, 0).notNullable();
      t.decimal('prepare_position', 20, 0).notNullable();
      t.primary(['channel', 'outcome', 'code', 'reason', 'retryable']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('message_outcome_totals');
  },
};
export default migration;
