import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * The status-webhook reactor's own state: which accounts have a status webhook, fed from StatusWebhookSet and
 * StatusWebhookRemoved, so that it decides what to write without reading another projection's tables. Filled
 * from the account-settings read model once, for the webhooks set before this table existed.
 */
const migration: Migration = {
  name: '20261201_0016_webhook_subscribers',
  async up(db: Knex) {
    await db.schema.createTable('webhook_subscribers', (t) => {
      t.text('account_id').primary();
    });
    await db.raw('insert into webhook_subscribers (account_id) select account_id from status_webhooks');
  },
  async down(db: Knex) {
    await db.schema.dropTable('webhook_subscribers');
  },
};
export default migration;
