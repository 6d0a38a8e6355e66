import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F6 without a phone: the pushes the built-in sandbox device received (only without Twilio credentials, like the
 * Twilio sandbox's messages), listed on /sandbox/inapp with their deep links to open.
 */
const migration: Migration = {
  name: '20261201_0031_sandbox_inapp',
  async up(db: Knex) {
    await db.schema.createTable('sandbox_inapp_pushes', (t) => {
      t.bigIncrements('seq').primary();
      t.text('account_id').notNullable();
      t.text('app_id').notNullable();
      t.text('consumer_id').notNullable();
      t.text('message_id').notNullable();
      t.text('title').notNullable();
      t.text('body').notNullable();
      t.text('image_url').nullable();
      t.text('deep_link').notNullable();
      t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.index(['account_id', 'seq']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('sandbox_inapp_pushes');
  },
};
export default migration;
