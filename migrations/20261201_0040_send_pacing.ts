import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * Send-rate pacing shared by every worker (DESIGN §4.4): per rate key (a sender, an account's channel) the time
 * its next send may go. One row per key, moved forward by one period per send.
 */
const migration: Migration = {
  name: '20261201_0040_send_pacing',
  async up(db: Knex) {
    await db.schema.createTable('send_rate_pacing', (t) => {
      t.text('key').primary();
      t.timestamp('next_at', { useTz: true }).notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('send_rate_pacing');
  },
};

export default migration;
