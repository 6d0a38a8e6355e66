import type { Knex } from 'knex';
import type { Migration } from './migration.ts';

/**
 * The Outbound API's access: API clients (read model), their hashed secrets, the JWT signing key,
 * idempotency keys and the counters behind the API and send rate limits.
 */
const migration: Migration = {
  name: '20261124_0004_api_access',
  async up(db: Knex) {
    await db.schema.createTable('api_clients', (t) => {
      t.text('account_id').notNullable();
      t.text('client_id').notNullable();
      t.text('name').notNullable();
      t.specificType('scopes', 'text[]').notNullable();
      t.text('created_by').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable();
      t.timestamp('revoked_at', { useTz: true }).nullable();
      t.primary(['account_id', 'client_id']);
      t.unique(['client_id']);
    });
    // Secrets are not events: like passwords, only their hashes are kept, here.
    await db.schema.createTable('api_client_secrets', (t) => {
      t.text('client_id').primary();
      t.text('account_id').notNullable();
      t.text('secret_hash').notNullable();
    });
    await db.schema.createTable('oauth_signing_keys', (t) => {
      t.text('kid').primary();
      t.binary('secret').notNullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
    await db.schema.createTable('idempotency_keys', (t) => {
      t.text('account_id').notNullable();
      t.text('scope').notNullable();
      t.text('key').notNullable();
      t.text('request_hash').notNullable();
      t.integer('response_status').nullable();
      t.jsonb('response_body').nullable();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      t.timestamp('completed_at', { useTz: true }).nullable();
      t.primary(['account_id', 'scope', 'key']);
      t.index(['created_at']);
    });
    // rate-limiter-flexible's own layout (RateLimiterPostgres), made here so processes never race to create it.
    for (const table of ['api_rate_limits', 'send_rate_limits']) {
      await db.raw(
        `create table ${table} (key varchar(255) primary key, points integer not null default 0, expire bigint)`,
      );
    }
  },
  async down(db: Knex) {
    for (const table of [
      'send_rate_limits',
      'api_rate_limits',
      'idempotency_keys',
      'oauth_signing_keys',
      'api_client_secrets',
      'api_clients',
    ]) {
      await db.schema.dropTable(table);
    }
  },
};
export default migration;
