import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F18: conversations and their transcript for the agent inbox (texts stay sealed; the web tool opens them with
 * the consumer's key), the conversation each responded message opened, and each agent's read marker.
 */
const migration: Migration = {
  name: '20261126_0012_conversations',
  async up(db: Knex) {
    await db.schema.createTable('conversations', (t) => {
      t.text('account_id').notNullable();
      t.text('conversation_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.text('channel').notNullable();
      t.text('sender_id').nullable();
      t.text('skill_id').nullable();
      t.text('routing').notNullable();
      t.text('campaign_id').nullable();
      t.text('message_id').nullable();
      t.text('status').notNullable();
      t.text('sealed_phone').nullable();
      t.timestamp('opened_at', { useTz: true }).notNullable();
      t.timestamp('last_activity_at', { useTz: true }).notNullable();
      t.timestamp('last_consumer_at', { useTz: true }).nullable();
      t.timestamp('closed_at', { useTz: true }).nullable();
      t.text('closed_by').nullable();
      t.text('close_reason').nullable();
      t.primary(['account_id', 'conversation_id']);
      t.index(['account_id', 'status', 'skill_id', 'last_activity_at']);
    });
    await db.schema.createTable('conversation_messages', (t) => {
      t.uuid('event_id').notNullable();
      t.text('account_id').notNullable();
      t.text('conversation_id').notNullable();
      t.text('direction').notNullable();
      t.text('sealed').notNullable();
      t.text('agent_id').nullable();
      t.text('campaign_name').nullable();
      t.timestamp('at', { useTz: true }).notNullable();
      t.primary(['event_id']);
      t.index(['account_id', 'conversation_id', 'at']);
    });
    await db.schema.createTable('conversation_reads', (t) => {
      t.text('account_id').notNullable();
      t.text('conversation_id').notNullable();
      t.text('user_id').notNullable();
      t.timestamp('read_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'conversation_id', 'user_id']);
    });
    await db.schema.alterTable('campaign_messages', (t) => {
      t.text('conversation_id').nullable();
    });
    // Read model of the account-settings projection: each account's idle timeout, when not the default.
    await db.schema.createTable('conversation_settings', (t) => {
      t.text('account_id').primary();
      t.integer('idle_timeout_minutes').notNullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('campaign_messages', (t) => {
      t.dropColumn('conversation_id');
    });
    for (const table of ['conversation_settings', 'conversation_reads', 'conversation_messages', 'conversations']) {
      await db.schema.dropTable(table);
    }
  },
};
export default migration;
