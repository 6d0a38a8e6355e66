import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { AuthenticatedClient } from '../auth/tokens.ts';
import * as account from '../domain/account.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

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

/**
 * The client for these credentials, or null: unknown id, wrong secret and revoked all look the same to a caller.
 * The client's scopes and revocation come from the account's stream, not the api-clients read model, so that a
 * client is usable the moment its creation is appended (a script that creates a client and asks for a token at
 * once must not get a 401 while a projection catches up).
 */
export async function authenticateClient(
  deps: Deps,
  clientId: string,
  clientSecret: string,
): Promise<AuthenticatedClient | null> {
  // Written before the append under a fresh id; a row whose append failed names no client in the stream.
  const secret = await deps.db('api_client_secrets').where({ client_id: clientId }).first('account_id', 'secret_hash');
  if (!secret) return null;
  const accountId = secret.account_id as string;
  const state = foldStream(account, await deps.store.read(account.accountStream(accountId)));
  const client = state.settings.apiClients[clientId];
  if (!client || client.revoked) return null;
  const ok = await verify(secret.secret_hash as string, clientSecret).catch(() => false);
  return ok ? { accountId, clientId, scopes: client.scopes } : null;
}
