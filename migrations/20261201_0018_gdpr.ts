import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F14: erasure requests and their progress, each consumer's opt-in/opt-out history (the consent-history read
 * model), the line-type cache (B4), and an index that lets every process find new erasures cheaply (it drops erased keys from its cache).
 */
const migration: Migration = {
  name: '20261201_0018_gdpr',
  async up(db: Knex) {
    // Written by the erasure itself, not a projection: an erasure of an unknown number records nothing else.
    await db.schema.createTable('gdpr_erasures', (t) => {
      t.text('erasure_id').primary();
      t.text('account_id').notNullable();
      t.text('requested_by').notNullable();
      t.timestamp('requested_at', { useTz: true }).notNullable();
      // The position every read model must reach before the erasure is done.
      t.specificType('commit_position', 'numeric(20,0)').nullable();
      t.specificType('prepare_position', 'numeric(20,0)').nullable();
      // Set once the key is gone, the waiting messages skipped and the provider's copies redacted.
      t.timestamp('applied_at', { useTz: true }).nullable();
      // Provider message sids (no personal data) Twilio would not redact yet, tried again later.
      t.jsonb('provider_pending').notNullable().defaultTo('[]');
      t.timestamp('provider_attempted_at', { useTz: true }).nullable();
      t.timestamp('completed_at', { useTz: true }).nullable();
      t.index(['account_id', 'requested_at']);
    });
    await db.schema.createTable('consent_history', (t) => {
      t.uuid('event_id').primary();
      t.text('account_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.boolean('opted_out').notNullable();
      t.text('keyword').nullable();
      t.text('channel').notNullable();
      t.text('via').notNullable();
      t.timestamp('at', { useTz: true }).notNullable();
      t.index(['account_id', 'consumer_ref', 'at']);
    });
    // B4: Lookup's line type per consumer (by ref: no number here), a cache with the account's period.
    await db.schema.createTable('line_types', (t) => {
      t.text('account_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.text('line_type').nullable();
      t.timestamp('checked_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'consumer_ref']);
    });
    await db.raw('create index consumer_keys_erased_at on consumer_keys (erased_at) where erased_at is not null');
  },
  async down(db: Knex) {
    await db.raw('drop index consumer_keys_erased_at');
    await db.schema.dropTable('line_types');
    await db.schema.dropTable('consent_history');
    await db.schema.dropTable('gdpr_erasures');
  },
};
export default migration;
