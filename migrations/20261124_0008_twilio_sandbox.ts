import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** The Twilio sandbox's own state, so it survives restarts and tests can count what was really "sent". */
const migration: Migration = {
  name: '20261124_0008_twilio_sandbox',
  async up(db: Knex) {
    await db.schema.createTable('sandbox_settings', (t) => {
      t.text('name').primary();
      t.text('value').notNullable();
    });
    await db.schema.createTable('sandbox_messages', (t) => {
      t.text('sid').primary();
      t.text('account_sid').notNullable();
      t.text('from').notNullable();
      t.text('to').notNullable();
      t.text('body').notNullable();
      t.text('status').notNullable();
      t.text('direction').notNullable();
      t.integer('error_code').nullable();
      t.text('error_message').nullable();
      t.text('status_callback').nullable();
      t.timestamp('date_created', { useTz: true }).notNullable();
      t.timestamp('date_updated', { useTz: true }).notNullable();
      t.timestamp('date_sent', { useTz: true }).nullable();
      t.bigIncrements('seq', { primaryKey: false });
      t.index(['account_sid', 'seq']);
      t.index(['to', 'from']);
    });
    await db.schema.createTable('sandbox_opt_outs', (t) => {
      t.text('phone').notNullable();
      t.text('sender').notNullable();
      t.primary(['phone', 'sender']);
    });
  },
  async down(db: Knex) {
    for (const table of ['sandbox_opt_outs', 'sandbox_messages', 'sandbox_settings']) await db.schema.dropTable(table);
  },
};
export default migration;
