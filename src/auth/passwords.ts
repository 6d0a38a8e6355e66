import { hash, verify } from '@node-rs/argon2';
import type { Db } from '../infra/db.ts';

export const MIN_PASSWORD_LENGTH = 8;

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function setPassword(db: Db, accountId: string, userId: string, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  await db('user_credentials')
    .insert({ account_id: accountId, user_id: userId, password_hash: passwordHash, updated_at: db.fn.now() })
    .onConflict(['account_id', 'user_id'])
    .merge();
}

/** True when the user has a password and this is it. */
export async function checkPassword(db: Db, accountId: string, userId: string, password: string): Promise<boolean> {
  const row = await db('user_credentials').where({ account_id: accountId, user_id: userId }).first('password_hash');
  if (!row) return false;
  try {
    return await verify(row.password_hash as string, password);
  } catch {
    return false;
  }
}
