import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * Personal data never sits in events in plaintext (DESIGN §2): each consumer has an AES-256-GCM key here, and the
 * HMAC key that turns numbers into consumer refs is a server secret. Erasure deletes a consumer's key.
 */
const migration: Migration = {
  name: '20261124_0007_personal_data',
  async up(db: Knex) {
    await db.schema.createTable('server_secrets', (t) => {
      t.text('name').primary();
      t.binary('value').notNullable();
    });
    await db.schema.createTable('consumer_keys', (t) => {
      t.text('account_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.binary('key').nullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('erased_at', { useTz: true }).nullable();
      t.primary(['account_id', 'consumer_ref']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('consumer_keys');
    await db.schema.dropTable('server_secrets');
  },
};
export default migration;
