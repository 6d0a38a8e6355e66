import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * LivePerson's Outbound Reporting API (issue 14): when each recipient's message reached each step, and how many
 * messages its text went out as (the transactions report); campaigns keep their handoff (the analytics filter);
 * recipients are found by when they were attempted (the reports' time range).
 */
const migration: Migration = {
  name: '20261201_0014_message_timeline',
  async up(db: Knex) {
    await db.schema.createTable('message_timeline', (t) => {
      t.text('account_id').notNullable();
      t.text('message_id').notNullable();
      t.text('campaign_id').notNullable();
      t.integer('segments').notNullable().defaultTo(1);
      t.timestamp('queued_at', { useTz: true }).nullable();
      t.timestamp('sent_at', { useTz: true }).nullable();
      t.timestamp('delivered_at', { useTz: true }).nullable();
      t.timestamp('read_at', { useTz: true }).nullable();
      t.timestamp('failed_at', { useTz: true }).nullable();
      t.timestamp('skipped_at', { useTz: true }).nullable();
      t.timestamp('responded_at', { useTz: true }).nullable();
      t.primary(['account_id', 'message_id']);
    });
    await db.schema.alterTable('campaigns', (t) => {
      t.text('handoff_id').nullable();
    });
    await db.schema.alterTable('campaign_messages', (t) => {
      t.index(['account_id', 'queued_at']);
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('campaign_messages', (t) => {
      t.dropIndex(['account_id', 'queued_at']);
    });
    await db.schema.alterTable('campaigns', (t) => {
      t.dropColumn('handoff_id');
    });
    await db.schema.dropTable('message_timeline');
  },
};
export default migration;
