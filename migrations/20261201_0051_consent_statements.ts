import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F14 consent: each campaign's consent statement as recorded when it was drafted (who and when are the campaign's
 * `created_by` and `created_at`). Campaigns drafted before statements were recorded have none (null).
 */
const migration: Migration = {
  name: '20261201_0051_consent_statements',
  async up(db: Knex) {
    await db.schema.alterTable('campaigns', (t) => {
      t.text('consent_statement').nullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('campaigns', (t) => {
      t.dropColumn('consent_statement');
    });
  },
};
export default migration;
