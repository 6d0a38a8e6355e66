import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { AuthenticatedClient } from '../auth/tokens.ts';
import * as account from '../domain/account.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, handleCommand } from './handler.ts';

interface Deps {
  store: EventStore;
  db: Db;
}

/**
 * Creates an API client with the given scopes. The secret is returned once and only its hash is kept; the hash
 * is written first under a fresh id, so a failed append leaves a row that names no client.
 */
export async function createApiClient(
  deps: Deps,
  input: { accountId: string; name: string; scopes: string[] },
  context: CommandContext,
) {
  const clientId = `oc_${randomBytes(12).toString('hex')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await deps.db('api_client_secrets').insert({
    client_id: clientId,
    account_id: input.accountId,
    secret_hash: await hash(clientSecret),
  });
  const result = await handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    account,
    { type: 'CreateApiClient', accountId: input.accountId, clientId, name: input.name, scopes: input.scopes },
    context,
  );
  return { ...result, clientId, clientSecret };
}

export function revokeApiClient(deps: Deps, input: { accountId: string; clientId: string }, context: CommandContext) {
  return handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    account,
    { type: 'RevokeApiClient', ...input },
    context,
  );
}

/** The client for these credentials, or null: unknown id, wrong secret and revoked all look the same to a caller. */
export async function authenticateClient(
  db: Db,
  clientId: string,
  clientSecret: string,
): Promise<AuthenticatedClient | null> {
  const row = await db('api_client_secrets as s')
    .join('api_clients as c', function () {
      this.on('c.client_id', '=', 's.client_id').andOn('c.account_id', '=', 's.account_id');
    })
    .where('s.client_id', clientId)
    .whereNull('c.revoked_at')
    .first('s.account_id', 's.secret_hash', 'c.scopes');
  if (!row) return null;
  const ok = await verify(row.secret_hash as string, clientSecret).catch(() => false);
  return ok ? { accountId: row.account_id, clientId, scopes: row.scopes as string[] } : null;
}
