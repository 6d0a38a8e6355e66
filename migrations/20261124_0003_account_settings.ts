import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** Read models of an account's sending configuration: senders, send rates, skills, receiving windows. */
const migration: Migration = {
  name: '20261124_0003_account_settings',
  async up(db: Knex) {
    await db.schema.createTable('senders', (t) => {
      t.text('account_id').notNullable();
      t.text('sender_id').notNullable();
      t.text('channel').notNullable();
      t.text('address').notNullable();
      t.text('label').notNullable();
      t.double('rate').notNullable();
      t.timestamp('added_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'sender_id']);
    });
    await db.schema.createTable('account_send_rates', (t) => {
      t.text('account_id').notNullable();
      t.text('channel').notNullable();
      t.double('rate').notNullable();
      t.primary(['account_id', 'channel']);
    });
    await db.schema.createTable('skills', (t) => {
      t.text('account_id').notNullable();
      t.text('skill_id').notNullable();
      t.text('name').notNullable();
      t.boolean('is_default').notNullable();
      t.primary(['account_id', 'skill_id']);
    });
    await db.schema.createTable('receiving_windows', (t) => {
      t.text('account_id').notNullable();
      t.text('channel').notNullable();
      t.jsonb('window').notNullable();
      t.primary(['account_id', 'channel']);
    });
  },
  async down(db: Knex) {
    for (const table of ['receiving_windows', 'skills', 'account_send_rates', 'senders'])
      await db.schema.dropTable(table);
  },
};
export default migration;
