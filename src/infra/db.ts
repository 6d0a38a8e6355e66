import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations.ts';

// int8 (bigint) columns come back as strings by default; counts and positions here fit in a JS number
// only sometimes, so callers convert explicitly where they need to.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export type Db = Knex;

export function createDb(url: string, options: { poolMax?: number } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url },
    pool: { min: 0, max: options.poolMax ?? 10 },
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
}

/** Brings the read-model schema up to date. Safe to call from several processes at once (knex locks). */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}
