import { assertNever, DomainError } from './decider.ts';

/**
 * One recipient of one campaign (`message-{campaignId}.{seq}`). MessageSendStarted, appended with the expected
 * version, is the lock that keeps two workers from both sending; the provider's callbacks only ever move a
 * message forward (a late "delivered" after "read" changes nothing).
 */

export const messageStream = (messageId: string) => `message-${messageId}`;
/** A message still failing retryably this long after its first attempt ends Failed (DISPATCH_GIVE_UP_MS). */
export const DEFAULT_GIVE_UP_MS = 3_600_000;

import {
  type MessageEvent,
  type MessageQueued,
  type MessageStatus,
  NOT_AT_PROVIDER,
  type SendFailure,
  type SkipReason,
} from './message-events.ts';

export * from './message-events.ts';

import { deliveredByWhatsApp, fallBackOnTimeout, fellBack, lateWhatsAppReceipt } from './message-fallback.ts';

type Ids = { accountId: string; campaignId: string; messageId: string };

export type MessageCommand =
  | ({ type: 'Queue' } & MessageQueued)
  | ({ type: 'Defer'; until: string; zones: string[] } & Ids)
  | ({ type: 'Skip'; reason: SkipReason; detail?: string } & Ids)
  | ({ type: 'StartSend'; now: string; leaseMs: number } & Ids)
  | ({ type: 'RecordSent'; providerMessageId: string; now: string } & Ids)
  | ({ type: 'RecordSendFailed'; failure: SendFailure; now: string; giveUpMs: number } & Ids)
  /** The prioritized channel: no WhatsApp delivery receipt in time, so the SMS goes instead. */
  | ({ type: 'FallBack'; now: string } & Ids)
  /** Ends a message Failed without (another) send: its sender is gone, or its outcome can never be confirmed. */
  | ({ type: 'Abandon'; failure: Omit<SendFailure, 'kind'>; now: string } & Ids)
  | ({
      type: 'RecordStatus';
      providerMessageId: string;
      status: string;
      code?: string;
      message?: string;
      now: string;
    } & Ids)
  /**
   * The outcome of looking for a "sending" message at the provider: `found` its message id, or null; `error` when
   * the provider could not be asked. Nothing found twice, `recheckMs` apart, frees the message for another attempt.
   */
  | ({
      type: 'Reconcile';
      found: string | null;
      error?: SendFailure;
      now: string;
      recheckMs: number;
      giveUpMs: number;
    } & Ids)
  | ({ type: 'RecordResponse'; conversationId: string; now: string } & Ids);

export interface Message {
  status: MessageStatus;
  accountId: string;
  queued: MessageQueued | null;
  attempts: number;
  notBefore: string | null;
  leaseUntil: string | null;
  startedAt: string | null;
  /** When the first attempt started: retries end once DISPATCH_GIVE_UP_MS has passed since. */
  firstStartedAt: string | null;
  /** Reconciliations of the current attempt that found nothing at the provider. */
  reconcileMisses: number;
  providerMessageId: string | null;
  /** The prioritized channel: the WhatsApp message id this one fell back from ('' if never taken), else null. */
  fellBackFrom: string | null;
  lateReceipt: boolean;
}

export const initialState = (): Message => ({
  status: 'none',
  accountId: '',
  queued: null,
  attempts: 0,
  notBefore: null,
  leaseUntil: null,
  startedAt: null,
  firstStartedAt: null,
  reconcileMisses: 0,
  providerMessageId: null,
  fellBackFrom: null,
  lateReceipt: false,
});

/** Statuses after which the message needs nothing more from the dispatcher (a campaign completes on them). */
export function isTerminal(status: MessageStatus): boolean {
  return ['skipped', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'responded'].includes(status);
}

/** Exponential backoff with a cap: 2 s, 4 s, 8 s … at most 5 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(300_000, 1000 * 2 ** attempt);
}

export const waiting = (status: MessageStatus) => status === 'queued' || status === 'deferred' || status === 'retrying';
const DELIVERY_ORDER: MessageStatus[] = ['sent', 'delivered', 'read', 'responded'];
/** Provider statuses that mean the provider accepted the message. */
const PROGRESS_STATUSES = ['sent', 'delivered', 'read', 'undelivered', 'failed'];

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  return ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 3_600_000)} h`;
}

/** The instant after which a failing message is retried no more. */
function giveUpAt(state: Message, giveUpMs: number): string {
  const first = state.firstStartedAt ?? state.startedAt;
  return first ? new Date(Date.parse(first) + giveUpMs).toISOString() : '9999-12-31T23:59:59.999Z';
}

/** MessageSendFailed: retried after a backoff while the failure is retryable and the give-up time is ahead. */
function failed(state: Message, ids: Ids, failure: SendFailure, now: string, giveUpMs: number): MessageEvent {
  const retryAt = new Date(Date.parse(now) + backoffMs(state.attempts)).toISOString();
  // A late WhatsApp delivery makes the fallback SMS moot: a failed attempt of it is not tried again.
  const retry = failure.kind === 'retryable' && retryAt < giveUpAt(state, giveUpMs) && !state.lateReceipt;
  const { kind: _kind, ...reason } = failure;
  const message = state.lateReceipt
    ? `${failure.message} WhatsApp delivered the message meanwhile, so the fallback SMS is not tried again.`
    : failure.kind === 'retryable' && !retry
      ? `${failure.message} Gave up after ${state.attempts} attempt${state.attempts === 1 ? '' : 's'} over ${duration(giveUpMs)}.`
      : failure.message;
  return {
    type: 'MessageSendFailed',
    data: { ...ids, attempt: state.attempts, ...reason, message, retryable: retry, retryAt: retry ? retryAt : null },
  };
}

function reconcileDeferred(
  state: Message,
  ids: Ids,
  checkedAt: string,
  recheckAt: string,
  code: string,
  message: string,
): MessageEvent {
  return {
    type: 'MessageReconcileDeferred',
    data: { ...ids, attempt: state.attempts, checkedAt, recheckAt, code, message },
  };
}

export const decide = (command: MessageCommand, state: Message): MessageEvent[] => {
  const { accountId, campaignId, messageId } = command;
  const idsOf = { accountId, campaignId, messageId };
  if (command.type !== 'Queue' && (state.status === 'none' || state.accountId !== accountId)) {
    throw new DomainError('MESSAGE_NOT_FOUND', 'No such message.');
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
        throw new DomainError('MESSAGE_NOT_SENDABLE', `A ${state.status} message cannot be sent.`);
      if (state.notBefore && command.now < state.notBefore)
        throw new DomainError('MESSAGE_NOT_DUE', 'The message is not due yet.');
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
      // An ambiguous failure may have gone out: nothing is recorded, the lease runs out and it is reconciled.
      if (state.status !== 'sending' || command.failure.kind === 'ambiguous') return [];
      const failure = failed(state, idsOf, command.failure, command.now, command.giveUpMs);
      const fallbackSenderId = state.queued?.channel === 'whatsapp' ? state.queued.fallbackSenderId : undefined;
      if (fallbackSenderId && command.failure.kind === 'permanent') {
        return [failure, fellBack(idsOf, fallbackSenderId, command.failure.code, command.now)];
      }
      return [failure];
    }
    case 'FallBack': {
      return fallBackOnTimeout(state, idsOf, command.now);
    }
    case 'Abandon':
      if (!waiting(state.status) && state.status !== 'sending') return [];
      return [
        {
          type: 'MessageSendFailed',
          data: { ...idsOf, attempt: state.attempts, ...command.failure, retryable: false, retryAt: null },
        },
      ];
    case 'Reconcile': {
      if (state.status !== 'sending') return [];
      if (command.found)
        return [{ type: 'MessageSent', data: { ...idsOf, providerMessageId: command.found, sentAt: command.now } }];
      const recheckAt = new Date(Date.parse(command.now) + command.recheckMs).toISOString();
      const pastGiveUp = recheckAt >= giveUpAt(state, command.giveUpMs);
      if (command.error) {
        if (pastGiveUp) {
          return [
            failed(
              state,
              idsOf,
              {
                kind: 'permanent',
                code: 'UNCONFIRMED',
                message: `The provider could not be asked whether attempt ${state.attempts} went out (${command.error.code}: ${command.error.message}); it is not sent again.`,
                source: 'system',
              },
              command.now,
              command.giveUpMs,
            ),
          ];
        }
        const { code, message } = command.error;
        return [reconcileDeferred(state, idsOf, command.now, recheckAt, code, message)];
      }
      // A slow provider may store a timed-out request after the lease: one more look, an interval later, before
      // the message may be sent again.
      if (state.reconcileMisses === 0) {
        return [
          reconcileDeferred(
            state,
            idsOf,
            command.now,
            recheckAt,
            NOT_AT_PROVIDER,
            `The provider has no record of attempt ${state.attempts} yet; it is looked for again before any new attempt.`,
          ),
        ];
      }
      return [
        failed(
          state,
          idsOf,
          {
            kind: 'retryable',
            code: 'LEASE_EXPIRED',
            message: 'The send was not recorded within its lease and the provider has no record of it.',
            source: 'system',
          },
          command.now,
          command.giveUpMs,
        ),
      ];
    }
    case 'RecordStatus': {
      const at = command.now;
      const providerMessageId = command.providerMessageId;
      // About the WhatsApp message this one fell back from, not the SMS (which may be sending right now).
      if (state.fellBackFrom && providerMessageId === state.fellBackFrom) {
        return lateWhatsAppReceipt(state, idsOf, command);
      }
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
        firstStartedAt: state.firstStartedAt ?? event.data.startedAt,
        leaseUntil: event.data.leaseUntil,
        reconcileMisses: 0,
      };
    case 'MessageReconcileDeferred':
      return {
        ...state,
        leaseUntil: event.data.recheckAt,
        reconcileMisses: state.reconcileMisses + (event.data.code === NOT_AT_PROVIDER ? 1 : 0),
      };
    case 'MessageSent':
      return { ...state, status: 'sent', providerMessageId: event.data.providerMessageId, leaseUntil: null };
    case 'MessageSendFailed':
      if (state.lateReceipt) return deliveredByWhatsApp(state);
      return event.data.retryable
        ? { ...state, status: 'retrying', notBefore: event.data.retryAt, leaseUntil: null }
        : { ...state, status: 'failed', leaseUntil: null };
    case 'MessageFellBack':
      return {
        ...state,
        status: 'queued',
        queued: state.queued && {
          ...state.queued,
          channel: 'sms',
          senderId: event.data.senderId ?? state.queued.senderId,
        },
        fellBackFrom: state.providerMessageId ?? '',
        providerMessageId: null,
        notBefore: null,
        leaseUntil: null,
        attempts: 0,
        firstStartedAt: null,
      };
    case 'MessageDelivered':
      if (state.fellBackFrom && event.data.providerMessageId === state.fellBackFrom) {
        // WhatsApp delivered after all: an SMS not yet sent is cancelled; one sent keeps its own status.
        return waiting(state.status)
          ? { ...state, status: 'delivered', lateReceipt: true, providerMessageId: event.data.providerMessageId }
          : { ...state, lateReceipt: true };
      }
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
