import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * A projection that meets an event it cannot apply stops there (it never skips one silently). The stop is kept
 * beside its checkpoint, so that /readyz of every process (a web process runs no projections) can name it.
 */
const migration: Migration = {
  name: '20261201_0015_projection_halts',
  async up(db: Knex) {
    await db.schema.alterTable('projection_checkpoints', (t) => {
      t.timestamp('halted_at', { useTz: true }).nullable();
      t.jsonb('halted_event').nullable();
      t.text('halted_error').nullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('projection_checkpoints', (t) => {
      t.dropColumn('halted_at');
      t.dropColumn('halted_event');
      t.dropColumn('halted_error');
    });
  },
};
export default migration;
