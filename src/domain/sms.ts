// The full ('max') metadata: exact validity per number range, and the line type where a country's plan tells it.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** SMS rules (PRODUCT F4): one segment of 140 characters, opt-out line included, and per-recipient variables. */

export const SMS_MAX_LENGTH = 140;
export const DEFAULT_OPT_OUT_TEXT = 'To stop receiving messages, reply STOP.';
const SEPARATOR = '\n';

/** Characters, as a person counts them (code points, so an emoji is one). */
export function characters(text: string): number {
  return [...text].length;
}

/** The length of the message as sent: the text, a line break, and the opt-out line. */
export function smsLength(text: string, optOut: string): number {
  return characters(text) + (optOut ? characters(SEPARATOR) + characters(optOut) : 0);
}

/**
 * How many messages a text goes out as. The handoff's own text must fit one (140 characters with its opt-out
 * line, LivePerson's limit); a recipient's variables may take it past that, and LivePerson then sends it as
 * several: one per 140 characters begun.
 */
export function smsSegments(text: string, optOut: string): number {
  return Math.max(1, Math.ceil(smsLength(text, optOut) / SMS_MAX_LENGTH));
}

export function withOptOut(text: string, optOut: string): string {
  return optOut ? `${text}${SEPARATOR}${optOut}` : text;
}

// `${{1}}` is LivePerson's form; `{{1}}` and `{{name}}` are accepted too.
const PLACEHOLDER = /\$?\{\{\s*([A-Za-z0-9_]{1,64})\s*\}\}/g;

/** The text without its placeholders: what a template costs before any variable fills it. */
export function withoutPlaceholders(text: string): string {
  return text.replace(PLACEHOLDER, '');
}

/** The placeholder names a text uses, in order of first use. */
export function placeholdersOf(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) if (!names.includes(match[1]!)) names.push(match[1]!);
  return names;
}

export type RenderResult = { ok: true; text: string } | { ok: false; error: string };

/**
 * Fills a recipient's variables into the text. The error codes are the API's per-consumer codes:
 * INSUFFICIENT_VARIABLES (none given for a text that needs some), MISSING_VARIABLE=<n>, VARIABLE_NOT_STRING=<n>,
 * TOO_MANY_VARIABLES (more given than the text uses).
 */
export function renderSms(text: string, variables: Record<string, unknown> | undefined): RenderResult {
  const names = placeholdersOf(text);
  const given = variables ?? {};
  const givenNames = Object.keys(given);
  if (names.length > 0 && givenNames.length === 0) return { ok: false, error: 'INSUFFICIENT_VARIABLES' };
  for (const name of names) {
    if (!Object.hasOwn(given, name)) return { ok: false, error: `MISSING_VARIABLE=${name}` };
    if (typeof given[name] !== 'string') return { ok: false, error: `VARIABLE_NOT_STRING=${name}` };
  }
  if (givenNames.some((name) => !names.includes(name))) return { ok: false, error: 'TOO_MANY_VARIABLES' };
  return { ok: true, text: text.replace(PLACEHOLDER, (_whole, name: string) => given[name] as string) };
}

/**
 * A phone number in E.164, or null when it is not a valid number. LivePerson sends digits with the country code
 * and no `+` (`14155550100`); both forms are accepted, with spaces, dashes, dots and brackets ignored.
 */
export function normalizePhone(input: unknown): string | null {
  return validNumber(input)?.number ?? null;
}

/**
 * A valid number in E.164 with its line type where the numbering plan tells it (`FIXED_LINE` is a landline,
 * which cannot take SMS; null where the number alone cannot tell, North America for one). One parse for both.
 */
export function parsePhone(input: unknown): { e164: string; lineType: 'FIXED_LINE' | 'MOBILE' | null } | null {
  const phone = validNumber(input);
  if (!phone) return null;
  const type = phone.getType();
  return { e164: phone.number, lineType: type === 'FIXED_LINE' || type === 'MOBILE' ? type : null };
}

/**
 * The ISO region of a number (`US`, `GB`): its own where it is a valid number, else the main region of its calling
 * code (a failed consumer still gets one), or null when even that is unknown.
 */
export function phoneRegion(input: unknown): string | null {
  if (typeof input !== 'string' && typeof input !== 'number') return null;
  const cleaned = String(input)
    .trim()
    .replace(/[\s().-]/g, '');
  const parsed = parsePhoneNumberFromString(cleaned.startsWith('+') ? cleaned : `+${cleaned}`);
  return parsed?.country ?? parsed?.getPossibleCountries()[0] ?? null;
}

function validNumber(input: unknown) {
  if (typeof input !== 'string' && typeof input !== 'number') return null;
  const cleaned = String(input)
    .trim()
    .replace(/[\s().-]/g, '');
  if (!/^\+?\d{6,17}$/.test(cleaned)) return null;
  const phone = parsePhoneNumberFromString(cleaned.startsWith('+') ? cleaned : `+${cleaned}`);
  return phone?.isValid() ? phone : null;
}
