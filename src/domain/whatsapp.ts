import { z } from 'zod';
import { DomainError } from './decider.ts';
import { bodyVariableCount, contentVariableLayout, type TemplateContent } from './template-content.ts';

/**
 * WhatsApp campaigns (F5, F7): the route a campaign's messages take (an approved template from a WhatsApp sender,
 * and on the prioritized channel the SMS they fall back to), the account's WhatsApp settings (the media hosts a
 * header may come from, the fallback's opt-out line), and each recipient's values checked with LivePerson's codes.
 */

/** The fallback on a missing delivery receipt waits this long unless the handoff says otherwise. */
export const DEFAULT_FALLBACK_TIMEOUT_SECONDS = 600;

export const smsFallbackSchema = z.object({
  senderId: z.string(),
  senderAddress: z.string(),
  /** The handoff's SMS text (`${{1}}` placeholders), filled with the same variables. */
  text: z.string(),
  /** Empty: no opt-out line (the account's choice for the fallback). */
  optOutText: z.string(),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400),
});
export type SmsFallback = z.infer<typeof smsFallbackSchema>;

/** Stored on CampaignDrafted for a WhatsApp campaign. */
export const whatsappRouteSchema = z.object({
  templateId: z.string(),
  templateName: z.string(),
  contentSid: z.string(),
  rich: z.boolean(),
  /** The prioritized channel (WhatsApp first, then SMS); null for WhatsApp alone. */
  fallback: smsFallbackSchema.nullable(),
});
export type WhatsAppRoute = z.infer<typeof whatsappRouteSchema>;

export const WhatsAppSettingsEvents = {
  WhatsAppSettingsSet: z.object({
    accountId: z.string(),
    /** Hosts a header's media may come from; empty: any https host. */
    mediaHosts: z.array(z.string()),
    /** Whether the SMS a WhatsApp message falls back to carries the opt-out line. */
    fallbackOptOut: z.boolean(),
  }),
};
export interface WhatsAppSettings {
  mediaHosts: string[];
  fallbackOptOut: boolean;
}
export const initialWhatsAppSettings = (): WhatsAppSettings => ({ mediaHosts: [], fallbackOptOut: false });

/** The allow-list as typed (commas, spaces or lines), each entry a host name; throws naming the bad one. */
export function parseMediaHosts(input: string | string[]): string[] {
  const entries = (Array.isArray(input) ? input : input.split(/[\s,]+/)).map((entry) => entry.trim().toLowerCase());
  const hosts = [...new Set(entries.filter(Boolean))];
  if (hosts.length > 100) throw new DomainError('INVALID_FIELD', 'At most 100 media hosts.', 'mediaHosts');
  for (const host of hosts) {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/.test(host)) {
      throw new DomainError(
        'INVALID_FIELD',
        `${host.slice(0, 80)} is not a host name (like cdn.example.com).`,
        'mediaHosts',
      );
    }
  }
  return hosts;
}

export interface WhatsAppRecipientInput {
  variables?: Record<string, unknown>;
  headerVariables?: unknown;
  buttonVariables?: unknown;
}

export type WhatsAppValues = { ok: true; values: Record<string, string> } | { ok: false; error: string };

/**
 * One recipient's values for a template, as Twilio's contentVariables (body 1…n, then the header's URL, then the
 * URL button's suffix), or LivePerson's per-consumer code for the first thing wrong.
 */
export function whatsappValues(
  content: TemplateContent,
  input: WhatsAppRecipientInput,
  mediaHosts: readonly string[],
): WhatsAppValues {
  const count = bodyVariableCount(content);
  const given = input.variables ?? {};
  const names = Object.keys(given);
  if (count > 0 && names.length === 0) return { ok: false, error: 'INSUFFICIENT_VARIABLES' };
  const values: Record<string, string> = {};
  for (let number = 1; number <= count; number++) {
    const name = String(number);
    if (!Object.hasOwn(given, name)) return { ok: false, error: `MISSING_VARIABLE=${name}` };
    const value = given[name];
    if (typeof value !== 'string') return { ok: false, error: `VARIABLE_NOT_STRING=${name}` };
    values[name] = value;
  }
  if (names.some((name) => !/^[1-9]\d*$/.test(name) || Number(name) > count)) {
    return { ok: false, error: 'TOO_MANY_VARIABLES' };
  }
  const layout = contentVariableLayout(content);
  const header = headerValue(content, input.headerVariables, mediaHosts);
  if (!header.ok) return header;
  if (layout.header) values[layout.header] = header.url!;
  const button = buttonValue(layout.button !== null, input.buttonVariables);
  if (!button.ok) return button;
  if (layout.button) values[layout.button] = button.value!;
  return { ok: true, values };
}

function headerValue(
  content: TemplateContent,
  raw: unknown,
  mediaHosts: readonly string[],
): { ok: true; url?: string } | { ok: false; error: string } {
  const given = raw === undefined || raw === null ? {} : raw;
  if (typeof given !== 'object' || Array.isArray(given)) return { ok: false, error: 'HEADER_VARIABLE_NOT_STRING' };
  const entries = Object.entries(given as Record<string, unknown>);
  if (!content.header) return entries.length > 0 ? { ok: false, error: 'TOO_MANY_HEADER_VARIABLES' } : { ok: true };
  if (entries.length === 0) return { ok: false, error: 'INSUFFICIENT_HEADER_VARIABLES' };
  if (entries.length > 1) return { ok: false, error: 'TOO_MANY_HEADER_VARIABLES' };
  const [type, value] = entries[0]!;
  if (type !== content.header.type) return { ok: false, error: `MISSING_HEADER_VARIABLE=${content.header.type}` };
  if (typeof value !== 'string') return { ok: false, error: 'HEADER_VARIABLE_NOT_STRING' };
  const host = httpsHost(value);
  if (!host) return { ok: false, error: 'HEADER_VARIABLE_INVALID_URL' };
  if (mediaHosts.length > 0 && !mediaHosts.includes(host)) return { ok: false, error: 'IMAGE_URL_NOT_WHITELISTED' };
  return { ok: true, url: value };
}

function buttonValue(wanted: boolean, raw: unknown): { ok: true; value?: string } | { ok: false; error: string } {
  const given = raw === undefined || raw === null ? {} : raw;
  if (typeof given !== 'object' || Array.isArray(given)) return { ok: false, error: 'BUTTON_VARIABLE_NOT_STRING=1' };
  const entries = Object.entries(given as Record<string, unknown>);
  if (!wanted) return entries.length > 0 ? { ok: false, error: 'TOO_MANY_BUTTON_VARIABLES' } : { ok: true };
  const value = (given as Record<string, unknown>)['1'];
  if (value === undefined) return { ok: false, error: 'MISSING_BUTTON_VARIABLE=1' };
  if (typeof value !== 'string' || value === '') return { ok: false, error: 'BUTTON_VARIABLE_NOT_STRING=1' };
  if (entries.length > 1) return { ok: false, error: 'TOO_MANY_BUTTON_VARIABLES' };
  return { ok: true, value };
}

function httpsHost(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname ? url.hostname.toLowerCase() : null;
  } catch {
    return null;
  }
}
