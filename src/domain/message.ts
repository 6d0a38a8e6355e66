import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

/**
 * One recipient of one campaign (`message-{campaignId}.{seq}`). MessageSendStarted, appended with the expected
 * version, is the lock that keeps two workers from both sending; the provider's callbacks only ever move a
 * message forward (a late "delivered" after "read" changes nothing).
 */

export const messageStream = (messageId: string) => `message-${messageId}`;
export const MAX_SEND_ATTEMPTS = 5;

export const SKIP_REASONS = [
  'opted-out',
  'open-conversation',
  'cancelled',
  'landline',
  'daily-cap',
  'bot-users-missing',
  'erased',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

const ids = { accountId: z.string(), campaignId: z.string(), messageId: z.string() };

export const MessageEvents = {
  MessageQueued: z.object({
    ...ids,
    consumerRef: z.string(),
    channel: z.literal('sms'),
    senderId: z.string(),
    sealed: z.string(),
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
  MessageFellBack: z.object({ ...ids, from: z.string(), to: z.string() }),
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

type Ids = { accountId: string; campaignId: string; messageId: string };
export type ProviderFailure = { retryable: boolean; code: string; message: string; source: 'provider' | 'system' };

export type MessageCommand =
  | ({ type: 'Queue' } & MessageQueued)
  | ({ type: 'Defer'; until: string; zones: string[] } & Ids)
  | ({ type: 'Skip'; reason: SkipReason; detail?: string } & Ids)
  | ({ type: 'StartSend'; now: string; leaseMs: number } & Ids)
  | ({ type: 'RecordSent'; providerMessageId: string; now: string } & Ids)
  | ({ type: 'RecordSendFailed'; failure: ProviderFailure; now: string } & Ids)
  | ({
      type: 'RecordStatus';
      providerMessageId: string;
      status: string;
      code?: string;
      message?: string;
      now: string;
    } & Ids)
  | ({ type: 'Reconcile'; found: string | null; now: string } & Ids)
  | ({ type: 'RecordResponse'; conversationId: string; now: string } & Ids);

export interface Message {
  status: MessageStatus;
  accountId: string;
  queued: MessageQueued | null;
  attempts: number;
  notBefore: string | null;
  leaseUntil: string | null;
  startedAt: string | null;
  providerMessageId: string | null;
}

export const initialState = (): Message => ({
  status: 'none',
  accountId: '',
  queued: null,
  attempts: 0,
  notBefore: null,
  leaseUntil: null,
  startedAt: null,
  providerMessageId: null,
});

/** Statuses after which the message needs nothing more from the dispatcher (a campaign completes on them). */
export function isTerminal(status: MessageStatus): boolean {
  return ['skipped', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'responded'].includes(status);
}

/** Exponential backoff with a cap: 2 s, 4 s, 8 s … at most 5 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(300_000, 1000 * 2 ** attempt);
}

const waiting = (status: MessageStatus) => status === 'queued' || status === 'deferred' || status === 'retrying';
const DELIVERY_ORDER: MessageStatus[] = ['sent', 'delivered', 'read', 'responded'];
/** Provider statuses that mean the provider accepted the message. */
const PROGRESS_STATUSES = ['sent', 'delivered', 'read', 'undelivered', 'failed'];

export const decide = (command: MessageCommand, state: Message): MessageEvent[] => {
  const { accountId, campaignId, messageId } = command;
  const idsOf = { accountId, campaignId, messageId };
  if (command.type !== 'Queue' && (state.status === 'none' || state.accountId !== accountId)) {
    throw new DomainError('MESSAGE_NOT_FOUND', 'No such message.', 404);
  }
  switch (command.type) {
    case 'Queue': {
      if (state.status !== 'none') return [];
      const { type: _type, ...data } = command;
      return [{ type: 'MessageQueued', data }];
    }
    case 'Defer':
      if (!waiting(state.status)) return [];
      if (state.status === 'deferred' && state.notBefore === command.until) return [];
      return [{ type: 'MessageDeferred', data: { ...idsOf, until: command.until, zones: command.zones } }];
    case 'Skip':
      if (!waiting(state.status)) return [];
      return [{ type: 'MessageSkipped', data: { ...idsOf, reason: command.reason, detail: command.detail ?? null } }];
    case 'StartSend': {
      if (!waiting(state.status))
        throw new DomainError('MESSAGE_NOT_SENDABLE', `A ${state.status} message cannot be sent.`, 409);
      if (state.notBefore && command.now < state.notBefore)
        throw new DomainError('MESSAGE_NOT_DUE', 'The message is not due yet.', 409);
      const leaseUntil = new Date(Date.parse(command.now) + command.leaseMs).toISOString();
      return [
        {
          type: 'MessageSendStarted',
          data: { ...idsOf, attempt: state.attempts + 1, startedAt: command.now, leaseUntil },
        },
      ];
    }
    case 'RecordSent':
      // A send the provider accepted counts even if a reconciler gave up on it meanwhile; the retry is moot.
      if (state.status !== 'sending' && state.status !== 'retrying') return [];
      return [
        { type: 'MessageSent', data: { ...idsOf, providerMessageId: command.providerMessageId, sentAt: command.now } },
      ];
    case 'RecordSendFailed': {
      if (state.status !== 'sending') return [];
      const retry = command.failure.retryable && state.attempts < MAX_SEND_ATTEMPTS;
      const retryAt = retry ? new Date(Date.parse(command.now) + backoffMs(state.attempts)).toISOString() : null;
      return [
        {
          type: 'MessageSendFailed',
          data: { ...idsOf, attempt: state.attempts, ...command.failure, retryable: retry, retryAt },
        },
      ];
    }
    case 'Reconcile':
      if (state.status !== 'sending') return [];
      if (command.found)
        return [{ type: 'MessageSent', data: { ...idsOf, providerMessageId: command.found, sentAt: command.now } }];
      return decide(
        {
          ...idsOf,
          type: 'RecordSendFailed',
          now: command.now,
          failure: {
            retryable: true,
            code: 'LEASE_EXPIRED',
            message: 'The worker stopped before the send was recorded; nothing reached the provider.',
            source: 'system',
          },
        },
        state,
      );
    case 'RecordStatus': {
      const at = command.now;
      const providerMessageId = command.providerMessageId;
      // A callback can overtake the dispatcher's own record of the send (or a reconciler's retry decision): it
      // proves the provider took the message, so the send is recorded first and the status then applies.
      if ((state.status === 'sending' || state.status === 'retrying') && PROGRESS_STATUSES.includes(command.status)) {
        const sent: MessageEvent = { type: 'MessageSent', data: { ...idsOf, providerMessageId, sentAt: at } };
        return [sent, ...decide(command, evolve(state, sent))];
      }
      // A callback about another provider message (a stale or forged sid) changes nothing.
      if (state.providerMessageId && state.providerMessageId !== providerMessageId) return [];
      const rank = DELIVERY_ORDER.indexOf(state.status);
      if (command.status === 'delivered' && rank === 0)
        return [{ type: 'MessageDelivered', data: { ...idsOf, providerMessageId, at } }];
      if (command.status === 'read' && (rank === 0 || rank === 1))
        return [{ type: 'MessageRead', data: { ...idsOf, providerMessageId, at } }];
      if ((command.status === 'undelivered' || command.status === 'failed') && rank === 0) {
        return [
          {
            type: 'MessageUndelivered',
            data: {
              ...idsOf,
              providerMessageId,
              at,
              code: command.code ?? 'UNKNOWN',
              message: command.message ?? command.status,
            },
          },
        ];
      }
      return [];
    }
    case 'RecordResponse': {
      const rank = DELIVERY_ORDER.indexOf(state.status);
      if (rank < 0 || state.status === 'responded') return [];
      return [
        { type: 'MessageResponded', data: { ...idsOf, conversationId: command.conversationId, at: command.now } },
      ];
    }
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Message, event: MessageEvent): Message => {
  switch (event.type) {
    case 'MessageQueued':
      return { ...state, status: 'queued', accountId: event.data.accountId, queued: event.data };
    case 'MessageDeferred':
      return { ...state, status: 'deferred', notBefore: event.data.until };
    case 'MessageSkipped':
      return { ...state, status: 'skipped' };
    case 'MessageSendStarted':
      return {
        ...state,
        status: 'sending',
        attempts: event.data.attempt,
        startedAt: event.data.startedAt,
        leaseUntil: event.data.leaseUntil,
      };
    case 'MessageSent':
      return { ...state, status: 'sent', providerMessageId: event.data.providerMessageId, leaseUntil: null };
    case 'MessageSendFailed':
      return event.data.retryable
        ? { ...state, status: 'retrying', notBefore: event.data.retryAt, leaseUntil: null }
        : { ...state, status: 'failed', leaseUntil: null };
    case 'MessageFellBack':
      return state;
    case 'MessageDelivered':
      return { ...state, status: 'delivered' };
    case 'MessageRead':
      return { ...state, status: 'read' };
    case 'MessageUndelivered':
      return { ...state, status: 'undelivered' };
    case 'MessageResponded':
      return { ...state, status: 'responded' };
    default:
      return assertNever(event);
  }
};
