import type { Knex } from 'knex';

/** One schema change of the read models, applied in the order of migrations/index.ts. */
export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}
