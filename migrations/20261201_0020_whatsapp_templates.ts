import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * WhatsApp (F5): the templates read model, and the sandbox's Content API (contents with their WhatsApp approval)
 * and the template fields of its WhatsApp messages.
 */
const migration: Migration = {
  name: '20261201_0020_whatsapp_templates',
  async up(db: Knex) {
    await db.schema.createTable('templates', (t) => {
      t.text('account_id').notNullable();
      t.text('template_id').notNullable();
      t.text('name').notNullable();
      t.text('language').notNullable();
      t.text('category').notNullable();
      t.text('kind').notNullable();
      t.text('status').notNullable();
      t.text('rejection_reason').nullable();
      t.text('content_sid').nullable();
      t.jsonb('content').notNullable();
      t.text('duplicated_from').nullable();
      t.text('created_by').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable();
      t.timestamp('deleted_at', { useTz: true }).nullable();
      t.primary(['account_id', 'template_id']);
      t.index(['account_id', 'created_at']);
      t.index(['status']);
    });
    await db.schema.createTable('sandbox_contents', (t) => {
      t.text('sid').primary();
      t.text('account_sid').notNullable();
      t.text('friendly_name').notNullable();
      t.text('language').notNullable();
      t.jsonb('variables').notNullable();
      t.jsonb('types').notNullable();
      t.text('approval_name').nullable();
      t.text('approval_category').nullable();
      t.timestamp('approval_requested_at', { useTz: true }).nullable();
      /** The decision in force at the approval request, applied at the first poll after its delay. */
      t.text('planned_status').nullable();
      t.text('planned_reason').nullable();
      t.integer('planned_delay_ms').nullable();
      t.text('approval_status').nullable();
      t.text('rejection_reason').nullable();
      t.timestamp('date_created', { useTz: true }).notNullable();
      t.timestamp('date_updated', { useTz: true }).notNullable();
    });
    // The receipt-timeout fallback looks for WhatsApp messages still "sent".
    await db.raw(
      "create index campaign_messages_whatsapp_sent on campaign_messages (sent_at) where channel = 'whatsapp' and status = 'sent'",
    );
    await db.schema.alterTable('sandbox_messages', (t) => {
      t.text('content_sid').nullable();
      t.text('content_variables').nullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('sandbox_messages', (t) => {
      t.dropColumn('content_sid');
      t.dropColumn('content_variables');
    });
    await db.raw('drop index if exists campaign_messages_whatsapp_sent');
    await db.schema.dropTable('sandbox_contents');
    await db.schema.dropTable('templates');
  },
};
export default migration;
