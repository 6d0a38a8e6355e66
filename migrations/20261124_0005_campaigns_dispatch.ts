import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/** SMS campaigns: their lifecycle, each recipient's message, opt-outs, the dispatch queue and daily stats. */
const migration: Migration = {
  name: '20261124_0005_campaigns_dispatch',
  async up(db: Knex) {
    await db.schema.createTable('campaigns', (t) => {
      t.text('account_id').notNullable();
      t.text('campaign_id').notNullable();
      t.text('name').notNullable();
      t.text('channel').notNullable();
      t.text('sender_id').notNullable();
      t.text('sender_address').notNullable();
      t.text('skill').nullable();
      t.text('status').notNullable();
      t.text('source').notNullable();
      t.text('created_by').notNullable();
      t.integer('recipient_count').notNullable().defaultTo(0);
      t.integer('rejected_count').notNullable().defaultTo(0);
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('send_at', { useTz: true }).nullable();
      t.timestamp('started_at', { useTz: true }).nullable();
      t.timestamp('finished_at', { useTz: true }).nullable();
      t.text('status_reason').nullable();
      t.primary(['account_id', 'campaign_id']);
      t.index(['account_id', 'status']);
      t.index(['status', 'send_at']);
    });
    await db.schema.createTable('campaign_messages', (t) => {
      t.text('account_id').notNullable();
      t.text('campaign_id').notNullable();
      t.text('message_id').notNullable();
      t.integer('seq').notNullable();
      t.text('consumer_ref').notNullable();
      t.text('channel').notNullable();
      t.text('status').notNullable();
      t.text('reason').nullable();
      t.text('error_source').nullable();
      t.text('error_code').nullable();
      t.text('error_message').nullable();
      t.text('provider_message_id').nullable();
      t.integer('attempts').notNullable().defaultTo(0);
      t.timestamp('deferred_until', { useTz: true }).nullable();
      t.timestamp('queued_at', { useTz: true }).notNullable();
      t.timestamp('sent_at', { useTz: true }).nullable();
      t.timestamp('updated_at', { useTz: true }).notNullable();
      // The revision of the last message event applied: a late or repeated event never moves the status back.
      t.integer('revision').notNullable();
      t.primary(['account_id', 'message_id']);
      t.index(['account_id', 'campaign_id', 'status']);
      t.index(['account_id', 'campaign_id', 'seq']);
      t.index(['account_id', 'consumer_ref']);
    });
    await db.schema.createTable('opt_outs', (t) => {
      t.text('account_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.boolean('opted_out').notNullable();
      t.text('keyword').nullable();
      t.text('channel').nullable();
      t.text('via').nullable();
      t.timestamp('changed_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'consumer_ref']);
    });
    await db.schema.createTable('dispatch_queue', (t) => {
      t.text('account_id').notNullable();
      t.text('message_id').notNullable();
      t.text('campaign_id').notNullable();
      t.timestamp('not_before', { useTz: true }).notNullable();
      // Set by a worker that claims the row; a claim past its lease can be taken again.
      t.timestamp('lease_until', { useTz: true }).nullable();
      t.text('state').notNullable();
      t.primary(['account_id', 'message_id']);
      t.index(['not_before']);
      t.index(['account_id', 'not_before']);
    });
    // One row per counted event and metric (so applying an event twice counts it once); reports sum them.
    await db.schema.createTable('account_daily_stats', (t) => {
      t.uuid('event_id').notNullable();
      t.text('account_id').notNullable();
      t.date('day').notNullable();
      t.text('channel').notNullable();
      t.text('metric').notNullable();
      t.text('campaign_id').nullable();
      t.primary(['event_id', 'metric']);
      t.index(['account_id', 'day', 'channel', 'metric']);
    });
    // The daily cap (100,000 per channel per account) is counted when a send starts, atomically, across workers.
    await db.schema.createTable('daily_send_counters', (t) => {
      t.text('account_id').notNullable();
      t.text('channel').notNullable();
      t.date('day').notNullable();
      t.integer('count').notNullable();
      t.primary(['account_id', 'channel', 'day']);
    });
  },
  async down(db: Knex) {
    for (const table of [
      'daily_send_counters',
      'account_daily_stats',
      'dispatch_queue',
      'opt_outs',
      'campaign_messages',
      'campaigns',
    ]) {
      await db.schema.dropTable(table);
    }
  },
};
export default migration;
