import { randomUUID } from 'node:crypto';
import { MIN_PASSWORD_LENGTH, setPassword } from '../auth/passwords.ts';
import type { Role } from '../domain/account.ts';
import * as account from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

export interface AccountDeps {
  store: EventStore;
  db: Db;
}

const decider = account;

export function createAccount(
  deps: AccountDeps,
  input: { accountId: string; name: string; defaultTimeZone?: string },
  context: CommandContext,
) {
  const accountId = account.accountIdSchema.safeParse(input.accountId);
  if (!accountId.success) {
    throw new DomainError('INVALID_ACCOUNT_ID', `accountId ${accountId.error.issues[0]?.message}`, 'accountId');
  }
  const name = input.name.trim();
  if (!name) throw new DomainError('FIELD_REQUIRED', 'name is required.', 'name');
  return handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    decider,
    { type: 'CreateAccount', accountId: input.accountId, name, defaultTimeZone: input.defaultTimeZone ?? 'UTC' },
    context,
  );
}

export function activateProactive(deps: AccountDeps, accountId: string, context: CommandContext) {
  return handleCommand(
    deps.store,
    account.accountStream(accountId),
    decider,
    { type: 'ActivateProactive', accountId, botUserIds: [randomUUID(), randomUUID()] },
    context,
  );
}

/** Adds a person who signs in with email and password. The password goes to the credentials table, not an event. */
export async function addUser(
  deps: AccountDeps,
  input: { accountId: string; email: string; name?: string; role: Role; password: string },
  context: CommandContext,
) {
  const email = input.email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new DomainError('INVALID_EMAIL', 'email is not a valid address.', 'email');
  }
  if (!account.roleSchema.safeParse(input.role).success) {
    throw new DomainError('INVALID_ROLE', `role must be one of ${account.ROLES.join(', ')}.`, 'role');
  }
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw new DomainError(
      'PASSWORD_TOO_SHORT',
      `password must be at least ${MIN_PASSWORD_LENGTH} characters.`,
      'password',
    );
  }
  const userId = randomUUID();
  // The hash is stored first and keyed by a fresh id: if the append then fails, the orphan row names no user.
  await setPassword(deps.db, input.accountId, userId, input.password);
  const result = await handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    decider,
    {
      type: 'AddUser',
      accountId: input.accountId,
      userId,
      email,
      name: input.name?.trim() || email,
      role: input.role,
    },
    context,
  );
  return { ...result, userId };
}

export function changeRole(
  deps: AccountDeps,
  input: { accountId: string; userId: string; role: Role },
  context: CommandContext,
) {
  if (!account.roleSchema.safeParse(input.role).success) {
    throw new DomainError('INVALID_ROLE', `role must be one of ${account.ROLES.join(', ')}.`, 'role');
  }
  return handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    decider,
    { type: 'ChangeRole', ...input },
    context,
  );
}

export function removeUser(deps: AccountDeps, input: { accountId: string; userId: string }, context: CommandContext) {
  return handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    decider,
    { type: 'RemoveUser', ...input },
    context,
  );
}

export async function loadAccount(deps: Pick<AccountDeps, 'store'>, accountId: string): Promise<account.Account> {
  return foldStream(decider, await deps.store.read(account.accountStream(accountId)));
}
