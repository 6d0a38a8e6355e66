import { randomBytes } from 'node:crypto';
import * as account from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, handleCommand } from './handler.ts';

interface Deps {
  store: EventStore;
  db: Db;
}

/**
 * Registers (or changes) the account's status webhook (B6). The signing secret is the caller's, or a generated
 * one that is returned here only; it is kept in its own table, never in an event.
 */

export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64url')}`;

export async function setStatusWebhook(
  deps: Deps,
  input: { accountId: string; url: string; secret?: string },
  context: CommandContext,
) {
  if (input.secret !== undefined && (input.secret.length < 16 || input.secret.length > 200)) {
    throw new DomainError('INVALID_SECRET', 'secret must be 16 to 200 characters.', 'secret');
  }
  const result = await handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    account,
    { type: 'SetStatusWebhook', accountId: input.accountId, url: input.url },
    context,
  );
  const existing = await deps
    .db('status_webhook_secrets')
    .where({ account_id: input.accountId })
    .first<{ secret: string } | undefined>('secret');
  const secret = input.secret ?? existing?.secret ?? newWebhookSecret();
  await deps
    .db('status_webhook_secrets')
    .insert({ account_id: input.accountId, secret, created_at: new Date() })
    .onConflict('account_id')
    .merge();
  return { ...result, url: input.url.trim(), secret, generated: input.secret === undefined && !existing };
}

export async function removeStatusWebhook(deps: Deps, input: { accountId: string }, context: CommandContext) {
  const result = await handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    account,
    { type: 'RemoveStatusWebhook', accountId: input.accountId },
    context,
  );
  await deps.db('status_webhook_secrets').where({ account_id: input.accountId }).delete();
  return result;
}

/** How many of the account's status-webhook deliveries wait, arrived, or gave up. */
export async function deliveryCounts(db: Db, accountId: string) {
  const rows = await db('webhook_deliveries')
    .where({ account_id: accountId })
    .groupBy('status')
    .select('status')
    .count<{ status: string; count: string }[]>('* as count');
  const counts = { pending: 0, delivered: 0, failed: 0 };
  for (const row of rows) counts[row.status as keyof typeof counts] = Number(row.count);
  return counts;
}
