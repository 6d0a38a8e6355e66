import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** The campaign-completion reactor's own bookkeeping: how many messages a campaign has, and which are done. */
const migration: Migration = {
  name: '20261124_0009_reactors',
  async up(db: Knex) {
    await db.schema.createTable('completion_campaigns', (t) => {
      t.text('account_id').notNullable();
      t.text('campaign_id').notNullable();
      t.integer('total').notNullable();
      t.boolean('completed').notNullable().defaultTo(false);
      t.primary(['account_id', 'campaign_id']);
    });
    await db.schema.createTable('completion_messages', (t) => {
      t.text('account_id').notNullable();
      t.text('campaign_id').notNullable();
      t.text('message_id').notNullable();
      t.primary(['account_id', 'campaign_id', 'message_id']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('completion_messages');
    await db.schema.dropTable('completion_campaigns');
  },
};
export default migration;
