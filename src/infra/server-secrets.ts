import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import { kept } from './kept.ts';

/**
 * A random 32-byte secret of this installation, made on first use and shared by every process (the
 * `server_secrets` table): the in-app link signatures and the key that seals push-provider credentials at rest.
 */
export async function serverSecret(db: Db, name: string): Promise<Buffer> {
  await db('server_secrets')
    .insert({ name, value: randomBytes(32) })
    .onConflict('name')
    .ignore();
  const row = await db('server_secrets').where({ name }).first('value');
  return row.value as Buffer;
}

/** `serverSecret`, read once per process. */
export function cachedServerSecret(db: Db, name: string): () => Promise<Buffer> {
  return kept(() => serverSecret(db, name));
}
