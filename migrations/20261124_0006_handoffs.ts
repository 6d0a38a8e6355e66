import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** API handoffs (F17), as listed in the web tool and answered by the handoffs API. */
const migration: Migration = {
  name: '20261124_0006_handoffs',
  async up(db: Knex) {
    await db.schema.createTable('handoffs', (t) => {
      t.text('account_id').notNullable();
      t.text('handoff_id').notNullable();
      t.text('name').notNullable();
      t.jsonb('config').notNullable();
      t.specificType('channel_types', 'text[]').notNullable();
      t.text('created_by').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable();
      t.timestamp('archived_at', { useTz: true }).nullable();
      t.primary(['account_id', 'handoff_id']);
      t.index(['account_id', 'created_at']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('handoffs');
  },
};
export default migration;
