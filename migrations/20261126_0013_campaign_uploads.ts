import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F10: a parsed recipient list between the wizard's "Parse" and "Publish" (numbers and variables, so personal
 * data: kept per account and user, deleted when published, and swept after a day).
 */
const migration: Migration = {
  name: '20261126_0013_campaign_uploads',
  async up(db: Knex) {
    await db.schema.createTable('campaign_uploads', (t) => {
      t.uuid('upload_id').primary();
      t.text('account_id').notNullable();
      t.text('user_id').notNullable();
      t.text('text').notNullable();
      t.text('opt_out').notNullable();
      t.jsonb('recipients').notNullable();
      t.integer('total').notNullable();
      t.integer('errors').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.index(['account_id', 'created_at']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('campaign_uploads');
  },
};
export default migration;
