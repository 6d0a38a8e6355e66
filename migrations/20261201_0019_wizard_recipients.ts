import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F10:
 * - the preview a parse showed (its rows, totals, the encoding and country used), kept with the parsed list, so that
 *   a publish the server refuses shows the same preview again instead of asking for the file once more;
 * - each campaign message's recipient, sealed under the consumer's key as in its MessageQueued event, so that the
 *   campaign page can show the number and the message as sent (and shows nothing once the consumer is erased).
 *   Rows projected before this are filled by `npx outbound replay campaign-messages`.
 */
const migration: Migration = {
  name: '20261201_0019_wizard_recipients',
  async up(db: Knex) {
    await db.schema.alterTable('campaign_uploads', (t) => {
      t.jsonb('preview').nullable();
    });
    await db.schema.alterTable('campaign_messages', (t) => {
      t.text('sealed').nullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('campaign_messages', (t) => {
      t.dropColumn('sealed');
    });
    await db.schema.alterTable('campaign_uploads', (t) => {
      t.dropColumn('preview');
    });
  },
};
export default migration;
