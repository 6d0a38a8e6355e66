import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * Handoff names are unique per account, case-insensitively. The write side reserves a name here, under a primary
 * key, before it appends: a lagging read model cannot let two requests take one name.
 */
const migration: Migration = {
  name: '20261126_0010_handoff_names',
  async up(db: Knex) {
    await db.schema.createTable('handoff_names', (t) => {
      t.text('account_id').notNullable();
      t.text('name_key').notNullable();
      t.text('handoff_id').notNullable();
      t.primary(['account_id', 'name_key']);
      t.index(['account_id', 'handoff_id']);
    });
    await db.raw(
      `insert into handoff_names (account_id, name_key, handoff_id)
       select account_id, lower(name), handoff_id from handoffs where archived_at is null
       on conflict do nothing`,
    );
  },
  async down(db: Knex) {
    await db.schema.dropTable('handoff_names');
  },
};
export default migration;
