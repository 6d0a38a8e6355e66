import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * B6, status webhooks to the brand: the account's URL (a read model of the account-settings projection), its
 * signing secret (write side: secrets stay out of events), and the delivery outbox that the webhook reactor
 * fills, one row per message event, and the deliverer drains with retries.
 */
const migration: Migration = {
  name: '20261126_0011_status_webhooks',
  async up(db: Knex) {
    await db.schema.createTable('status_webhooks', (t) => {
      t.text('account_id').primary();
      t.text('url').notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable();
    });
    await db.schema.createTable('status_webhook_secrets', (t) => {
      t.text('account_id').primary();
      t.text('secret').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
    });
    await db.schema.createTable('webhook_deliveries', (t) => {
      t.uuid('event_id').primary();
      t.text('account_id').notNullable();
      t.text('campaign_id').nullable();
      t.text('message_id').nullable();
      t.jsonb('payload').notNullable();
      t.text('status').notNullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('next_attempt_at', { useTz: true }).notNullable();
      t.text('last_error').nullable();
      t.integer('last_status').nullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('delivered_at', { useTz: true }).nullable();
      t.index(['status', 'next_attempt_at']);
      t.index(['account_id', 'status', 'created_at']);
    });
  },
  async down(db: Knex) {
    for (const table of ['webhook_deliveries', 'status_webhook_secrets', 'status_webhooks']) {
      await db.schema.dropTable(table);
    }
  },
};
export default migration;
