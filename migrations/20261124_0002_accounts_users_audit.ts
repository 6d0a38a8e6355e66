import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** Read models of the account stream (accounts, users) and the audit log of every event. */
const migration: Migration = {
  name: '20261124_0002_accounts_users_audit',
  async up(db: Knex) {
    await db.schema.createTable('accounts', (t) => {
      t.text('account_id').primary();
      t.text('name').notNullable();
      t.text('default_time_zone').notNullable();
      t.boolean('proactive_active').notNullable().defaultTo(false);
      t.timestamp('activated_at', { useTz: true }).nullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
    });
    await db.schema.createTable('users', (t) => {
      t.text('account_id').notNullable();
      t.text('user_id').notNullable();
      t.text('kind').notNullable();
      t.text('email').nullable();
      t.text('name').notNullable();
      t.text('role').notNullable();
      t.timestamp('added_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'user_id']);
      t.index(['email']);
    });
    await db.schema.createTable('audit_events', (t) => {
      t.uuid('event_id').primary();
      t.decimal('commit_position', 20, 0).notNullable();
      t.decimal('prepare_position', 20, 0).notNullable();
      t.text('account_id').notNullable();
      t.text('stream_id').notNullable();
      t.integer('revision').notNullable();
      t.text('type').notNullable();
      t.jsonb('data').notNullable();
      t.jsonb('metadata').notNullable();
      t.text('actor').notNullable();
      t.text('correlation_id').notNullable();
      t.text('causation_id').nullable();
      t.timestamp('occurred_at', { useTz: true }).notNullable();
      t.index(['account_id', 'commit_position', 'prepare_position']);
      t.index(['account_id', 'stream_id']);
      t.index(['account_id', 'type']);
      t.index(['account_id', 'correlation_id']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('audit_events');
    await db.schema.dropTable('users');
    await db.schema.dropTable('accounts');
  },
};
export default migration;
