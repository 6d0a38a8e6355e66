import type { Channels } from '../channels/providers.ts';
import type { AccountSettings } from '../domain/account-settings.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import type { RecipientsPreview } from './csv-recipients.ts';

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

/**
 * The wizard's preview with the dispatcher's knowledge (B4): when the account checks line types, a number the
 * cache knows as a landline is a LANDLINE row, left out like the numbers libphonenumber knows as fixed lines
 * (the dispatcher would skip it `landline`). No lookup is made: a preview costs nothing at Twilio.
 */
export async function flagCachedLandlines(
  deps: { db: Db; personalData: PersonalData },
  input: { accountId: string; settings: AccountSettings['lineTypeCheck']; preview: RecipientsPreview },
): Promise<RecipientsPreview> {
  const { preview } = input;
  if (!input.settings.enabled || preview.valid.length === 0) return preview;
  const refs = await Promise.all(
    preview.valid.map((recipient) => deps.personalData.consumerRef(input.accountId, recipient.phone)),
  );
  const types = new Map<string, string>();
  for (let start = 0; start < refs.length; start += 1000) {
    const cached = await cachedLineTypes(deps.db, {
      accountId: input.accountId,
      consumerRefs: refs.slice(start, start + 1000),
      cacheDays: input.settings.cacheDays,
    });
    for (const [ref, type] of cached) types.set(ref, type);
  }
  const landlines = new Set(
    preview.valid.filter((_, index) => types.get(refs[index]!) === LANDLINE).map((recipient) => recipient.phone),
  );
  if (landlines.size === 0) return preview;
  return {
    ...preview,
    valid: preview.valid.filter((recipient) => !landlines.has(recipient.phone)),
    errors: preview.errors + landlines.size,
    rows: preview.rows.map((row) =>
      !row.error && row.phone && landlines.has(row.phone) ? { ...row, text: null, error: 'LANDLINE' } : row,
    ),
  };
}
