import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** Bookkeeping that is not a read model: projection checkpoints, web sessions and password hashes. */
const migration: Migration = {
  name: '20261124_0001_core',
  async up(db: Knex) {
    await db.schema.createTable('projection_checkpoints', (t) => {
      t.text('name').primary();
      // The last event applied: (commit, prepare) of the store's global position; null = nothing yet.
      t.decimal('commit_position', 20, 0).nullable();
      t.decimal('prepare_position', 20, 0).nullable();
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
    await db.schema.createTable('web_sessions', (t) => {
      t.text('id').primary();
      t.text('account_id').notNullable();
      t.text('user_id').notNullable();
      t.text('csrf_token').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('expires_at', { useTz: true }).notNullable();
      t.index(['expires_at']);
    });
    // Secrets are not business events: password hashes live here, keyed by the user ids the events use.
    await db.schema.createTable('user_credentials', (t) => {
      t.text('account_id').notNullable();
      t.text('user_id').notNullable();
      t.text('password_hash').notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.primary(['account_id', 'user_id']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('user_credentials');
    await db.schema.dropTable('web_sessions');
    await db.schema.dropTable('projection_checkpoints');
  },
};
export default migration;
