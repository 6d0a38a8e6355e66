import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * F6, the In-App channel:
 * - each app's push-provider secret, outside the events: the push proxy's signing secret, or FCM's service
 *   account JSON sealed with this installation's credentials key;
 * - the devices read model (who can receive an in-app campaign, the sandbox device and Settings' counts); the
 *   dispatcher reads the consumer's stream instead.
 */
const migration: Migration = {
  name: '20261201_0030_inapp',
  async up(db: Knex) {
    await db.schema.createTable('inapp_app_credentials', (t) => {
      t.text('account_id').notNullable();
      t.text('app_id').notNullable();
      t.text('proxy_secret').nullable();
      t.text('sealed_service_account').nullable();
      t.primary(['account_id', 'app_id']);
    });
    await db.schema.createTable('inapp_devices', (t) => {
      t.text('account_id').notNullable();
      t.text('device_id').notNullable();
      t.text('consumer_ref').notNullable();
      t.text('app_id').notNullable();
      t.text('platform').notNullable();
      t.text('time_zone').nullable();
      /** The push token and the brand's consumer id, sealed with the consumer's key (unreadable once erased). */
      t.text('sealed_token').notNullable();
      t.timestamp('registered_at', { useTz: true }).notNullable();
      t.primary(['account_id', 'device_id']);
      t.index(['account_id', 'app_id']);
      t.index(['account_id', 'consumer_ref']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('inapp_devices');
    await db.schema.dropTable('inapp_app_credentials');
  },
};
export default migration;
