import type { Channels } from '../channels/providers.ts';
import type { AccountSettings } from '../domain/account-settings.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';

/**
 * B4, beyond LivePerson: the line type of a number from Twilio Lookup v2 (`line_type_intelligence`), asked once
 * and cached per account and consumer (by ref, so the cache holds no number) for the account's cache period.
 * It works for every country Lookup covers, Canada included. Landlines cannot take SMS: a message to one is
 * skipped `landline` before it is sent.
 */

export interface LineTypeDeps {
  db: Db;
  log: Logger;
  lineTypes: Channels['lineTypes'];
}

/** Lookup's type for a fixed line. */
export const LANDLINE = 'landline';
const DAY_MS = 86_400_000;

/** The number's line type, from the cache when fresh, else from Lookup; null when Lookup cannot tell. */
export async function lineTypeOf(
  deps: LineTypeDeps,
  input: { accountId: string; consumerRef: string; phone: string; cacheDays: number; now?: Date },
): Promise<string | null> {
  const now = input.now ?? new Date();
  const where = { account_id: input.accountId, consumer_ref: input.consumerRef };
  const cached = await deps.db('line_types').where(where).first('line_type', 'checked_at');
  if (cached && now.getTime() - new Date(cached.checked_at).getTime() < input.cacheDays * DAY_MS) {
    return cached.line_type as string | null;
  }
  let type: string | null;
  try {
    type = await deps.lineTypes.lineType(input.phone);
  } catch (error) {
    // Lookup down is no reason to hold a campaign back: the send itself still fails on a landline (21614).
    deps.log.warn({ err: error, accountId: input.accountId }, 'line type lookup failed; sending unchecked');
    return null;
  }
  await deps
    .db('line_types')
    .insert({ ...where, line_type: type, checked_at: now })
    .onConflict(['account_id', 'consumer_ref'])
    .merge(['line_type', 'checked_at']);
  return type;
}

/**
 * The dispatcher's check before a number's first send: true when the account checks line types and the number
 * is a landline (the message is then skipped `landline`).
 */
export async function isLandline(
  deps: LineTypeDeps,
  input: {
    accountId: string;
    consumerRef: string;
    phone: string;
    settings: AccountSettings['lineTypeCheck'];
    now?: Date;
  },
): Promise<boolean> {
  if (!input.settings.enabled) return false;
  return (await lineTypeOf(deps, { ...input, cacheDays: input.settings.cacheDays })) === LANDLINE;
}

/** Fresh cached line types by ref, for the wizard's preview: it flags known landlines without new lookups. */
export async function cachedLineTypes(
  db: Db,
  input: { accountId: string; consumerRefs: string[]; cacheDays: number; now?: Date },
): Promise<Map<string, string>> {
  const now = input.now ?? new Date();
  const rows = await db('line_types')
    .where({ account_id: input.accountId })
    .whereIn('consumer_ref', input.consumerRefs)
    .andWhere('checked_at', '>', new Date(now.getTime() - input.cacheDays * DAY_MS))
    .whereNotNull('line_type')
    .select('consumer_ref', 'line_type');
  return new Map(rows.map((row) => [row.consumer_ref as string, row.line_type as string]));
}
