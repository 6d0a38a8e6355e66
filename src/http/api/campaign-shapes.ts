import { createHash } from 'node:crypto';
import { z } from 'zod';
import { WEEKDAYS, type WeeklyWindow } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { normalizePhone, phoneRegion } from '../../domain/sms.ts';

/**
 * The campaign API's LivePerson Proactive 2.0 shapes: the request and answer schemas, our statuses in LivePerson's
 * vocabulary, and the consumer entries (current and legacy forms) and scheduling windows turned into ours.
 */

export const MAX_CONSUMERS_PER_REQUEST = 1000;
const MAX_VARIABLE_LENGTH = 1550;

const hourMinute = z.object({ hour: z.number().int().min(0).max(24), minute: z.number().int().min(0).max(59) });
const schedulingWindowSchema = z.object({
  day: z.enum(WEEKDAYS.map((day) => day.toUpperCase()) as [string, ...string[]]),
  startTime: hourMinute,
  endTime: hourMinute,
});

/** The LivePerson Proactive 2.0 create-campaign body. Unknown fields are ignored, as LivePerson does. */
export const createCampaignBody = z.object({
  campaignName: z.string().trim().min(1).max(255),
  skill: z.union([z.string().trim().min(1).max(255), z.number().int().nonnegative()]).transform(String),
  templateId: z.string().trim().min(1).max(32),
  outboundNumber: z
    .union([z.string().trim().min(1).max(16), z.number().int().nonnegative()])
    .transform(String)
    .optional(),
  consent: z.boolean(),
  /** Beyond LivePerson (F14): how the recipients consented, recorded with the campaign. */
  consentStatement: z.string().trim().min(1).max(1000).optional(),
  consumers: z.array(z.unknown()).min(1).max(MAX_CONSUMERS_PER_REQUEST),
  sendAt: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  schedulingWindows: z.array(schedulingWindowSchema).min(1).max(7).optional(),
});

const consumerContentSchema = z.object({
  sms: z.string().optional(),
  wa: z.string().optional(),
  inapp: z.unknown().optional(),
});
const acceptedConsumerSchema = z.object({
  id: z.string(),
  /** Absent for In-App consumers, who are named by `consumerContent.inapp`. */
  phoneNumber: z.string().optional(),
  /** Exactly as sent; absent for the legacy form (consumerCountryCode + consumerPhoneNumber). */
  consumerContent: consumerContentSchema.optional(),
});
const failedConsumerSchema = z
  .object({
    phone: z.string().nullable(),
    countryCode: z.string().optional(),
    variables: z.record(z.string(), z.unknown()).optional(),
    errorMessage: z.string(),
  })
  .catchall(z.unknown());
export const createdSchema = z.object({
  proactiveCampaignId: z.string(),
  leCampaignId: z.string(),
  leEngagementId: z.string(),
  requestTraceId: z.string(),
  acceptedConsumers: z.array(acceptedConsumerSchema),
  failedConsumers: z.array(failedConsumerSchema),
});

/** Our statuses in LivePerson's vocabulary. */
export const CAMPAIGN_STATUS: Record<string, string> = {
  draft: 'DRAFT',
  scheduled: 'SCHEDULED',
  queued: 'QUEUED',
  in_progress: 'IN_PROGRESS',
  completed: 'FINISHED',
  cancelled: 'CANCELLED',
  failed: 'FAILED',
};

/**
 * LivePerson's Conversational Cloud campaign and engagement that route a proactive campaign's replies. Ours are
 * the account's (campaign) and the skill's (engagement): numeric like LivePerson's, and the same on every call.
 */
export function leIdsOf(accountId: string, skillId: string): { leCampaignId: string; leEngagementId: string } {
  const numeric = (seed: string) =>
    String(1_000_000_000 + (createHash('sha256').update(seed).digest().readUInt32BE(0) % 1_000_000_000));
  return {
    leCampaignId: numeric(`campaign:${accountId}`),
    leEngagementId: numeric(`engagement:${accountId}:${skillId}`),
  };
}

export const campaignStatusSchema = z.object({
  proactiveCampaignId: z.string(),
  campaignName: z.string(),
  status: z.string(),
  channel: z.string(),
  outboundNumber: z.string(),
  skill: z.string().nullable(),
  createdAt: z.string(),
  sendAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  statusReason: z.string().nullable(),
  totalConsumers: z.number(),
  rejectedConsumers: z.number(),
  counts: z.record(z.string(), z.number()),
});

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

export interface CampaignRow {
  campaign_id: string;
  name: string;
  status: string;
  channel: string;
  sender_address: string;
  skill: string | null;
  recipient_count: number;
  rejected_count: number;
  created_at: Date;
  send_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  status_reason: string | null;
}

export interface MessageRow {
  message_id: string;
  status: string;
  reason: string | null;
  error_source: string | null;
  error_code: string | null;
  error_message: string | null;
}

export const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** What went wrong for one recipient, in one line: the skip reason or the provider's code and message. */
export function errorMessageOf(row: MessageRow): string | null {
  if (row.status === 'skipped') return row.reason ? row.reason.toUpperCase().replace(/-/g, '_') : 'SKIPPED';
  if (row.status === 'failed' || row.status === 'undelivered') {
    return [row.error_code, row.error_message].filter(Boolean).join(': ') || 'FAILED';
  }
  // Not sent yet, but not for want of trying: the last error, so that nobody waits without a reason shown.
  if ((row.status === 'queued' || row.status === 'sending') && row.error_code) {
    return `${[row.error_code, row.error_message].filter(Boolean).join(': ')} (still trying)`;
  }
  return null;
}

/** A number as LivePerson sends it (digits with the country code, no `+`) or E.164. */
export function phoneFrom(raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return normalizePhone(`+${raw}`);
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  return normalizePhone(/^\d+$/.test(text) ? `+${text}` : text);
}

export interface ParsedConsumer {
  input: Record<string, unknown>;
  phone: unknown;
  /** The number as LivePerson answers it for a failed consumer: digits with `+`. */
  phoneText: string | null;
  /** The number's ISO region, where it tells one. */
  countryCode?: string;
  /** `consumerContent` exactly as sent (absent in the legacy form), echoed for an accepted consumer. */
  consumerContent?: unknown;
  variables?: Record<string, unknown>;
  error?: string;
}

/** A number as sent, written with its `+` (LivePerson's `phone` of a failed consumer). */
function withPlus(raw: string): string {
  const text = raw.trim();
  return text.startsWith('+') ? text : `+${text}`;
}

/** One consumer entry, in the current or the legacy (country code + number) form. */
export function parseConsumer(raw: unknown): ParsedConsumer {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { input: {}, phone: null, phoneText: null, error: 'MISSING_CONSUMER_INFORMATION=SMS' };
  }
  const input = raw as Record<string, unknown>;
  const variables = input.variables;
  const parsed: ParsedConsumer = { input, phone: null, phoneText: null };
  if (variables !== undefined && variables !== null) {
    if (typeof variables !== 'object' || Array.isArray(variables)) return { ...parsed, error: 'VARIABLE_NOT_STRING=*' };
    parsed.variables = variables as Record<string, unknown>;
    for (const [name, value] of Object.entries(parsed.variables)) {
      if (typeof value === 'string' && value.length > MAX_VARIABLE_LENGTH)
        return { ...parsed, error: `VARIABLE_TOO_LONG=${name}` };
    }
  }
  const content = input.consumerContent;
  const sms = typeof content === 'object' && content !== null ? (content as Record<string, unknown>).sms : undefined;
  if (sms !== undefined && sms !== null && sms !== '') {
    const phoneText = withPlus(String(sms));
    const countryCode = phoneRegion(phoneText);
    return {
      ...parsed,
      consumerContent: content,
      phone: phoneFrom(sms) ?? sms,
      phoneText,
      ...(countryCode ? { countryCode } : {}),
    };
  }
  const countryCode = input.consumerCountryCode;
  const number = input.consumerPhoneNumber;
  if (
    (typeof countryCode === 'string' || typeof countryCode === 'number') &&
    (typeof number === 'string' || typeof number === 'number')
  ) {
    const code = String(countryCode).replace(/^\+/, '').trim();
    const digits = String(number).trim();
    const phoneText = `+${code}${digits.replace(/^0+/, '')}`;
    const region = phoneRegion(phoneText);
    return {
      ...parsed,
      phone: normalizePhone(phoneText) ?? `${code}${digits}`,
      phoneText,
      ...(region ? { countryCode: region } : {}),
    };
  }
  // No SMS number: the consumer's number on another channel (WhatsApp's), when given, still names it.
  const other = typeof content === 'object' && content !== null ? (content as Record<string, unknown>).wa : undefined;
  if ((typeof other === 'string' && other.trim() !== '') || typeof other === 'number') {
    const phoneText = withPlus(String(other));
    const region = phoneRegion(phoneText);
    return {
      ...parsed,
      phoneText,
      ...(region ? { countryCode: region } : {}),
      error: 'MISSING_CONSUMER_INFORMATION=SMS',
    };
  }
  return { ...parsed, error: 'MISSING_CONSUMER_INFORMATION=SMS' };
}

/**
 * The FAQ's request-level rule: a handoff whose text takes variables needs a `variables` field on every consumer;
 * the first consumer without one (its index), else -1 (the use case refuses it when the text has placeholders).
 * An empty or partial one is that consumer's own error.
 */
export function consumerWithoutVariables(consumers: unknown[]): number {
  return consumers.findIndex(
    (consumer) =>
      typeof consumer === 'object' &&
      consumer !== null &&
      ((consumer as { variables?: unknown }).variables ?? null) === null,
  );
}

/** LivePerson's schedulingWindows as our weekly window; days not listed are closed. */
export function windowFrom(windows: z.infer<typeof schedulingWindowSchema>[]): WeeklyWindow {
  const result = Object.fromEntries(WEEKDAYS.map((day) => [day, null])) as WeeklyWindow;
  const time = (at: { hour: number; minute: number }) =>
    `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`;
  for (const [index, entry] of windows.entries()) {
    const day = entry.day.toLowerCase() as (typeof WEEKDAYS)[number];
    const field = `schedulingWindows.${index}`;
    if (result[day]) throw new DomainError('INVALID_FIELD', `${entry.day} is listed twice.`, `${field}.day`);
    const start = time(entry.startTime);
    const end = time(entry.endTime);
    if (entry.startTime.hour === 24 || (entry.endTime.hour === 24 && entry.endTime.minute !== 0)) {
      throw new DomainError('INVALID_FIELD', 'Times run from 00:00 to 24:00.', field);
    }
    if (start >= end) throw new DomainError('INVALID_FIELD', 'startTime must be before endTime.', field);
    result[day] = { start, end };
  }
  return result;
}

/**
 * LivePerson's answer for each consumer, in request order: accepted ones with their id, number and
 * `consumerContent` exactly as sent; failed ones as sent, with the number, its region and the code.
 */
export function consumerOutcomes(
  parsed: ParsedConsumer[],
  usable: { index: number }[],
  outcomes: { index: number; phoneNumber: string | null; messageId?: string; error?: string }[],
) {
  const errors = new Map<number, string>();
  const accepted = new Map<number, { id: string; phoneNumber: string }>();
  for (const [index, consumer] of parsed.entries()) if (consumer.error) errors.set(index, consumer.error);
  for (const outcome of outcomes) {
    const index = usable[outcome.index]!.index;
    if (outcome.error) errors.set(index, outcome.error);
    else accepted.set(index, { id: outcome.messageId!, phoneNumber: outcome.phoneNumber! });
  }
  const acceptedConsumers = [...accepted.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, consumer]) => {
      const { consumerContent } = parsed[index]!;
      return consumerContent === undefined ? consumer : { ...consumer, consumerContent };
    });
  const failedConsumers = [...errors.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, errorMessage]) => {
      const consumer = parsed[index]!;
      return {
        ...consumer.input,
        phone: consumer.phoneText,
        ...(consumer.countryCode ? { countryCode: consumer.countryCode } : {}),
        ...(consumer.variables ? { variables: consumer.variables } : {}),
        errorMessage,
      };
    });
  return { acceptedConsumers, failedConsumers };
}
