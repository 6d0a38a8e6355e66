import { randomBytes } from 'node:crypto';
import { accountStream } from '../domain/account.ts';
import type { Logger } from '../infra/logger.ts';
import { type AccountDeps, addUser, createAccount } from './accounts.ts';

const SYSTEM = { actor: 'system:bootstrap' };

/**
 * On the first start with an empty store: the default account and its first admin. The admin's password is
 * ADMIN_PASSWORD, or a generated one printed once (it is not kept anywhere in plaintext).
 */
export async function bootstrapFirstStart(
  deps: AccountDeps,
  options: { accountId: string; adminEmail: string; adminPassword: string | undefined; log: Logger },
): Promise<{ created: boolean; generatedPassword?: string }> {
  const existing = await deps.store.read(accountStream(options.accountId));
  if (existing.length > 0) return { created: false };
  if ((await deps.store.headPosition()) !== null) {
    options.log.info({ accountId: options.accountId }, 'store is not empty; not creating the default account');
    return { created: false };
  }
  await createAccount(deps, { accountId: options.accountId, name: 'Default account' }, SYSTEM);
  const password = options.adminPassword ?? randomBytes(12).toString('base64url');
  await addUser(
    deps,
    { accountId: options.accountId, email: options.adminEmail, name: 'Administrator', role: 'admin', password },
    SYSTEM,
  );
  options.log.info(
    { accountId: options.accountId, email: options.adminEmail },
    'created the default account and its admin',
  );
  if (options.adminPassword) return { created: true };
  return { created: true, generatedPassword: password };
}
