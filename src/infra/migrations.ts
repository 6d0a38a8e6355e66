import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.ts';
import type { Migration } from '../../migrations/migration.ts';

/**
 * Knex's own directory loader cannot import TypeScript under every runner (tsx, vitest, the CLI), so the
 * migrations are listed in migrations/index.ts and handed to knex through this source.
 */
export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
