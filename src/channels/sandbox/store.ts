import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../infra/db.ts';

export interface SandboxCredentials {
  accountSid: string;
  authToken: string;
}

export interface SandboxMessageRow {
  sid: string;
  account_sid: string;
  from: string;
  to: string;
  body: string;
  status: string;
  direction: 'outbound-api' | 'inbound';
  error_code: number | null;
  error_message: string | null;
  status_callback: string | null;
  date_created: Date;
  date_updated: Date;
  date_sent: Date | null;
  seq: string;
  /** WhatsApp: the Content template sent, and its variables as the JSON string Twilio takes. */
  content_sid: string | null;
  content_variables: string | null;
}

/**
 * Fault injection for tests and demos: per-number permanent errors, a share of 500/429 answers, slow answers,
 * landlines for Lookup, asynchronous failures reported through callbacks. Kept in the sandbox process's memory.
 */
export interface SandboxFaults {
  /** Share (0..1) of creates answered with `errorStatus`. */
  errorRate: number;
  errorStatus: 500 | 429;
  /** Added delay before answering a create, in ms. */
  delayMs: number;
  /** Per-number delays before answering a create (the message is still stored): slow answers and timeouts. */
  slowNumbers: Record<string, number>;
  /**
   * Numbers whose creates are stored only once a Messages list for the number has answered without them (at most
   * 60 s later); later lists wait until they are stored. With `slowNumbers` past the client's timeout: a message the
   * sender's first reconciliation cannot find and its second one does.
   */
  storeAfterLookup: string[];
  /** Numbers whose creates fail at once with this Twilio code (21211, 21610, 21614 …). */
  failNumbers: Record<string, number>;
  /** Numbers that Lookup reports as landlines (creates to them fail with 21614). */
  landlines: string[];
  /** Numbers whose messages end `undelivered` with this code in the status callback. */
  undeliverable: Record<string, number>;
  /** Delay between status steps (queued → sent → delivered), in ms; -1 sends no callbacks. */
  callbackDelayMs: number;
  /** WhatsApp's decision on a template's approval request, applied at the first poll after the delay. */
  templateDecision: 'approved' | 'rejected' | 'paused';
  templateRejectionReason: string;
  templateDecisionDelayMs: number;
  /** E.164 numbers that are not on WhatsApp: sends to them fail with 63003. */
  whatsappUnreachable: string[];
  /** E.164 numbers whose WhatsApp messages are sent but never get a delivery receipt. */
  whatsappNoReceipt: string[];
  /** How long after delivery a WhatsApp message is read, in ms; -1: never. */
  readAfterMs: number;
}

export const defaultFaults = (): SandboxFaults => ({
  errorRate: 0,
  errorStatus: 500,
  delayMs: 0,
  slowNumbers: {},
  storeAfterLookup: [],
  failNumbers: {},
  landlines: [],
  undeliverable: {},
  callbackDelayMs: 50,
  templateDecision: 'approved',
  templateRejectionReason: 'The template does not follow WhatsApp’s policies (sandbox).',
  templateDecisionDelayMs: 0,
  whatsappUnreachable: [],
  whatsappNoReceipt: [],
  readAfterMs: -1,
});

const phoneMap = z.record(z.string(), z.number().int().min(10000).max(99999));
const e164List = z.array(z.string().regex(/^\+[1-9]\d{6,14}$/, 'E.164 numbers such as +14155550100')).max(100_000);
export const faultsSchema = z
  .object({
    errorRate: z.number().min(0).max(1),
    errorStatus: z.union([z.literal(500), z.literal(429)]),
    delayMs: z.number().int().min(0).max(60_000),
    slowNumbers: z.record(z.string(), z.number().int().min(0).max(60_000)),
    storeAfterLookup: e164List,
    failNumbers: phoneMap,
    landlines: z.array(z.string()),
    undeliverable: phoneMap,
    callbackDelayMs: z.number().int().min(-1).max(60_000),
    templateDecision: z.enum(['approved', 'rejected', 'paused']),
    templateRejectionReason: z.string().min(1).max(500),
    templateDecisionDelayMs: z.number().int().min(0).max(86_400_000),
    whatsappUnreachable: e164List,
    whatsappNoReceipt: e164List,
    readAfterMs: z.number().int().min(-1).max(86_400_000),
  })
  .partial();

export const newMessageSid = () => `SM${randomBytes(16).toString('hex')}`;
export const newContentSid = () => `HX${randomBytes(16).toString('hex')}`;

/**
 * The sandbox's credentials: TWILIO_SANDBOX_ACCOUNT_SID/TWILIO_SANDBOX_AUTH_TOKEN when set, else a pair made on
 * the first start and kept, so webhook signatures stay valid across restarts.
 */
export async function sandboxCredentials(
  db: Db,
  configured: { accountSid?: string; authToken?: string },
): Promise<SandboxCredentials> {
  if (configured.accountSid && configured.authToken)
    return { accountSid: configured.accountSid, authToken: configured.authToken };
  await db('sandbox_settings')
    .insert([
      { name: 'account_sid', value: `AC${randomBytes(16).toString('hex')}` },
      { name: 'auth_token', value: randomBytes(16).toString('hex') },
    ])
    .onConflict('name')
    .ignore();
  const rows = await db('sandbox_settings').whereIn('name', ['account_sid', 'auth_token']).select('name', 'value');
  const value = (name: string) => rows.find((row) => row.name === name)!.value as string;
  return { accountSid: value('account_sid'), authToken: value('auth_token') };
}

export function rfc2822(date: Date | null): string | null {
  return date ? date.toUTCString().replace('GMT', '+0000') : null;
}

/** A message as Twilio's REST API answers it. */
export function toTwilioJson(row: SandboxMessageRow, basePath: string) {
  return {
    sid: row.sid,
    account_sid: row.account_sid,
    api_version: '2010-04-01',
    body: row.body,
    date_created: rfc2822(row.date_created),
    date_updated: rfc2822(row.date_updated),
    date_sent: rfc2822(row.date_sent),
    direction: row.direction,
    error_code: row.error_code,
    error_message: row.error_message,
    from: row.from,
    to: row.to,
    messaging_service_sid: null,
    num_media: '0',
    num_segments: String(Math.max(1, Math.ceil([...row.body].length / 160))),
    price: null,
    price_unit: 'USD',
    status: row.status,
    subresource_uris: { media: `${basePath}/Messages/${row.sid}/Media.json` },
    uri: `${basePath}/Messages/${row.sid}.json`,
  };
}
