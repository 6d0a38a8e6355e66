import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * The campaign-completion reactor keeps each campaign's count of finished messages beside its total, so that a
 * batch adds what it finished instead of counting the campaign's finished messages again (a count per batch
 * grew with the campaign). Campaigns in flight get their count from the rows already there.
 */
const migration: Migration = {
  name: '20261209_0062_completion_done',
  async up(db: Knex) {
    await db.schema.alterTable('completion_campaigns', (t) => {
      t.integer('done').notNullable().defaultTo(0);
    });
    await db.raw(`
      update completion_campaigns c set done = m.count
        from (select account_id, campaign_id, count(*)::int as count from completion_messages
               group by account_id, campaign_id) m
       where m.account_id = c.account_id and m.campaign_id = c.campaign_id`);
  },
  async down(db: Knex) {
    await db.schema.alterTable('completion_campaigns', (t) => {
      t.dropColumn('done');
    });
  },
};
export default migration;
