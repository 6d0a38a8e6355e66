import { z } from 'zod';
import { channelSchema } from './account-settings.ts';
import type { EventsOf } from './decider.ts';

/** The message stream's events, skip reasons, statuses and the one failure type (the decider is in message.ts). */

export const SKIP_REASONS = [
  'opted-out',
  'open-conversation',
  'cancelled',
  'landline',
  'daily-cap',
  'bot-users-missing',
  'erased',
  /** In-App: the consumer has no device registered for the campaign's app (never logged in, or logged out). */
  'no-device',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

const ids = { accountId: z.string(), campaignId: z.string(), messageId: z.string() };

export const MessageEvents = {
  MessageQueued: z.object({
    ...ids,
    consumerRef: z.string(),
    channel: channelSchema,
    senderId: z.string(),
    sealed: z.string(),
    /** WhatsApp: the approved template sent (its variables are in `sealed`). */
    contentSid: z.string().optional(),
    /** The prioritized channel: the SMS sender the message falls back to. */
    fallbackSenderId: z.string().optional(),
  }),
  MessageDeferred: z.object({ ...ids, until: z.string(), zones: z.array(z.string()) }),
  MessageSkipped: z.object({ ...ids, reason: z.enum(SKIP_REASONS), detail: z.string().nullable() }),
  MessageSendStarted: z.object({ ...ids, attempt: z.number().int(), startedAt: z.string(), leaseUntil: z.string() }),
  MessageSent: z.object({ ...ids, providerMessageId: z.string(), sentAt: z.string() }),
  MessageSendFailed: z.object({
    ...ids,
    attempt: z.number().int(),
    retryable: z.boolean(),
    code: z.string(),
    message: z.string(),
    source: z.enum(['provider', 'system']),
    retryAt: z.string().nullable(),
  }),
  /**
   * A send whose outcome is unknown (its request timed out) was looked for at the provider and not found, or the
   * provider could not be asked: it stays "sending" and is looked for again at `recheckAt`, never sent twice.
   */
  MessageReconcileDeferred: z.object({
    ...ids,
    attempt: z.number().int(),
    checkedAt: z.string(),
    recheckAt: z.string(),
    code: z.string(),
    message: z.string(),
  }),
  /** The prioritized channel: the message goes again as `to` (SMS) from `senderId`, for `reason`. */
  MessageFellBack: z.object({
    ...ids,
    from: z.string(),
    to: z.string(),
    senderId: z.string().optional(),
    reason: z.string().optional(),
    at: z.string().optional(),
  }),
  MessageDelivered: z.object({ ...ids, providerMessageId: z.string(), at: z.string() }),
  MessageRead: z.object({ ...ids, providerMessageId: z.string(), at: z.string() }),
  MessageUndelivered: z.object({
    ...ids,
    providerMessageId: z.string(),
    at: z.string(),
    code: z.string(),
    message: z.string(),
  }),
  MessageResponded: z.object({ ...ids, conversationId: z.string(), at: z.string() }),
};
export type MessageEvent = EventsOf<typeof MessageEvents>;
export type MessageQueued = z.infer<typeof MessageEvents.MessageQueued>;

export type MessageStatus =
  | 'none'
  | 'queued'
  | 'deferred'
  | 'retrying'
  | 'skipped'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'read'
  | 'failed'
  | 'undelivered'
  | 'responded';

/**
 * Why a send did not go through, as every channel adapter classifies it (the one failure type of the product):
 * - `retryable`: it certainly did not go out (5xx, 429, connection refused, DNS); try again after a backoff;
 * - `permanent`: the provider refused it for good, with its code;
 * - `ambiguous`: the request may have gone out (a timeout or a reset after it was written); it is reconciled
 *   with the provider, never sent again blindly.
 */
export interface SendFailure {
  kind: 'retryable' | 'permanent' | 'ambiguous';
  code: string;
  message: string;
  source: 'provider' | 'system';
}

/** Not found at the provider (yet): the code of a reconciliation that looked and found nothing. */
export const NOT_AT_PROVIDER = 'NOT_AT_PROVIDER';
