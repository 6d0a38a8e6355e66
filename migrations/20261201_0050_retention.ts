import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F14 retention: each campaign's key, combined with each consumer's key to seal the campaign's copy of their
 * number and variables (and the first message of a conversation it opened). At the end of the account's
 * retention period the key is deleted (`shredded_at`), so every copy sealed for that campaign, in events and
 * read models, can no longer be opened; the campaign's counts and statuses stay (`personal_data_shredded_at`).
 */
const migration: Migration = {
  name: '20261201_0050_retention',
  async up(db: Knex) {
    await db.schema.createTable('campaign_keys', (t) => {
      t.text('account_id').notNullable();
      t.text('campaign_id').notNullable();
      t.binary('key').nullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('shredded_at', { useTz: true }).nullable();
      t.primary(['account_id', 'campaign_id']);
    });
    await db.raw('create index campaign_keys_shredded_at on campaign_keys (shredded_at) where shredded_at is not null');
    await db.schema.alterTable('campaigns', (t) => {
      t.timestamp('personal_data_shredded_at', { useTz: true }).nullable();
      t.index(['status', 'finished_at']);
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('campaigns', (t) => {
      t.dropIndex(['status', 'finished_at']);
      t.dropColumn('personal_data_shredded_at');
    });
    await db.schema.dropTable('campaign_keys');
  },
};
export default migration;
