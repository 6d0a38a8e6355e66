import { describe, expect, it } from 'vitest';
import type { MessageCommand, MessageEvent, MessageStatus } from '../../src/domain/message.ts';
import * as message from '../../src/domain/message.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(message);
const ids = { accountId: 'acme', campaignId: 'camp1', messageId: 'camp1.0' };
const t0 = '2026-11-24T10:00:00.000Z';
const t0PlusLease = '2026-11-24T10:00:30.000Z';
const t1 = '2026-11-24T10:05:00.000Z';
const quietUntil = '2026-11-24T13:00:00.000Z';

const queuedData = { ...ids, consumerRef: 'ref-1', channel: 'sms', senderId: 's1', sealed: 'v1.x' } as const;
const queued: MessageEvent = { type: 'MessageQueued', data: queuedData };
const deferred: MessageEvent = {
  type: 'MessageDeferred',
  data: { ...ids, until: quietUntil, zones: ['America/New_York'] },
};
const skipped: MessageEvent = { type: 'MessageSkipped', data: { ...ids, reason: 'opted-out', detail: null } };
const sendStarted = (attempt: number, startedAt = t0, leaseUntil = t0PlusLease): MessageEvent => ({
  type: 'MessageSendStarted',
  data: { ...ids, attempt, startedAt, leaseUntil },
});
const sent: MessageEvent = { type: 'MessageSent', data: { ...ids, providerMessageId: 'SM1', sentAt: t0 } };
const retryAt1 = '2026-11-24T10:05:02.000Z';
const failedRetryable: MessageEvent = {
  type: 'MessageSendFailed',
  data: {
    ...ids,
    attempt: 1,
    retryable: true,
    code: '20429',
    message: 'Too many requests',
    source: 'provider',
    retryAt: retryAt1,
  },
};
const failedPermanent: MessageEvent = {
  type: 'MessageSendFailed',
  data: {
    ...ids,
    attempt: 1,
    retryable: false,
    code: '21211',
    message: 'Invalid To number',
    source: 'provider',
    retryAt: null,
  },
};
const delivered: MessageEvent = { type: 'MessageDelivered', data: { ...ids, providerMessageId: 'SM1', at: t1 } };
const read: MessageEvent = { type: 'MessageRead', data: { ...ids, providerMessageId: 'SM1', at: t1 } };
const undelivered: MessageEvent = {
  type: 'MessageUndelivered',
  data: { ...ids, providerMessageId: 'SM1', at: t1, code: '30003', message: 'Unreachable destination handset' },
};
const responded: MessageEvent = { type: 'MessageResponded', data: { ...ids, conversationId: 'conv-1', at: t1 } };

/** One history per status a message can be in. */
const histories: Record<Exclude<MessageStatus, 'none'>, MessageEvent[]> = {
  queued: [queued],
  deferred: [queued, deferred],
  retrying: [queued, sendStarted(1), failedRetryable],
  skipped: [queued, skipped],
  sending: [queued, sendStarted(1)],
  sent: [queued, sendStarted(1), sent],
  delivered: [queued, sendStarted(1), sent, delivered],
  read: [queued, sendStarted(1), sent, read],
  failed: [queued, sendStarted(1), failedPermanent],
  undelivered: [queued, sendStarted(1), sent, undelivered],
  responded: [queued, sendStarted(1), sent, responded],
};
const allStatuses = Object.keys(histories) as (keyof typeof histories)[];
const inStates = (...statuses: (keyof typeof histories)[]) =>
  statuses.map((status) => ({ status, history: histories[status] }));
const exceptStates = (...excluded: (keyof typeof histories)[]) =>
  inStates(...allStatuses.filter((status) => !excluded.includes(status)));

/** A history that has reached `sending` on the given attempt, each earlier attempt having failed retryably. */
const sendingOnAttempt = (attempt: number): MessageEvent[] => {
  const history: MessageEvent[] = [queued];
  for (let n = 1; n < attempt; n++) {
    history.push(sendStarted(n), { ...failedRetryable, data: { ...failedRetryable.data, attempt: n, retryAt: t0 } });
  }
  history.push(sendStarted(attempt));
  return history;
};

const queue: MessageCommand = { type: 'Queue', ...queuedData };
const defer: MessageCommand = { type: 'Defer', ...ids, until: quietUntil, zones: ['America/New_York'] };
const skip: MessageCommand = { type: 'Skip', ...ids, reason: 'opted-out' };
const startSend: MessageCommand = { type: 'StartSend', ...ids, now: t0, leaseMs: 30_000 };
const recordSent: MessageCommand = { type: 'RecordSent', ...ids, providerMessageId: 'SM1', now: t0 };
const retryableFailure = {
  kind: 'retryable',
  code: '20429',
  message: 'Too many requests',
  source: 'provider',
} as const;
const permanentFailure = {
  kind: 'permanent',
  code: '21211',
  message: 'Invalid To number',
  source: 'provider',
} as const;
const HOUR = 3_600_000;
const recordSendFailed = (
  failure: message.SendFailure = retryableFailure,
  now = t1,
  giveUpMs = HOUR,
): MessageCommand => ({ type: 'RecordSendFailed', ...ids, failure, now, giveUpMs });
const recordStatus = (status: string, extra: { code?: string; message?: string } = {}): MessageCommand => ({
  type: 'RecordStatus',
  ...ids,
  providerMessageId: 'SM1',
  status,
  now: t1,
  ...extra,
});
const LEASE = 30_000;
const reconcile = (
  found: string | null,
  extra: { error?: message.SendFailure; now?: string; giveUpMs?: number } = {},
): MessageCommand => ({ type: 'Reconcile', ...ids, found, now: t1, recheckMs: LEASE, giveUpMs: HOUR, ...extra });
/** The first reconciliation found nothing: looked for again a lease later. */
const reconcileMissed: MessageEvent = {
  type: 'MessageReconcileDeferred',
  data: {
    ...ids,
    attempt: 1,
    checkedAt: t1,
    recheckAt: '2026-11-24T10:05:30.000Z',
    code: message.NOT_AT_PROVIDER,
    message: 'The provider has no record of attempt 1 yet; it is looked for again before any new attempt.',
  },
};
const abandon: MessageCommand = {
  type: 'Abandon',
  ...ids,
  failure: { code: 'SENDER_REMOVED', message: 'The campaign sender was removed from the account.', source: 'system' },
  now: t1,
};
const recordResponse: MessageCommand = { type: 'RecordResponse', ...ids, conversationId: 'conv-1', now: t1 };

const lateSent = (providerMessageId: string): MessageEvent => ({
  type: 'MessageSent',
  data: { ...ids, providerMessageId, sentAt: t1 },
});

describe('message decider', () => {
  describe('a message that does not exist', () => {
    const everyCommandButQueue: MessageCommand[] = [
      defer,
      skip,
      startSend,
      recordSent,
      recordSendFailed(),
      recordStatus('delivered'),
      reconcile(null),
      recordResponse,
    ];

    it.each(everyCommandButQueue.map((command) => ({ command })))(
      'refuses $command.type with MESSAGE_NOT_FOUND',
      ({ command }) => {
        given([]).when(command).thenThrows('MESSAGE_NOT_FOUND');
      },
    );

    it.each(everyCommandButQueue.map((command) => ({ command })))(
      'refuses $command.type from another account with MESSAGE_NOT_FOUND',
      ({ command }) => {
        given(histories.sending)
          .when({ ...command, accountId: 'other' })
          .thenThrows('MESSAGE_NOT_FOUND');
      },
    );
  });

  describe('Queue', () => {
    it('queues a new message', () => {
      given([]).when(queue).then([queued]);
    });

    it.each(inStates(...allStatuses))('queueing a $status message again decides nothing', ({ history }) => {
      given(history).when(queue).then([]);
    });
  });

  describe('Defer', () => {
    it.each(inStates('queued', 'retrying'))('defers a $status message until the window opens', ({ history }) => {
      given(history).when(defer).then([deferred]);
    });

    it('moves a deferred message to a new time', () => {
      const tomorrow = '2026-11-25T13:00:00.000Z';
      given(histories.deferred)
        .when({ ...defer, until: tomorrow, zones: ['Asia/Tokyo'] })
        .then([{ type: 'MessageDeferred', data: { ...ids, until: tomorrow, zones: ['Asia/Tokyo'] } }]);
    });

    it('deferring again to the same time decides nothing', () => {
      given(histories.deferred).when(defer).then([]);
    });

    it.each(exceptStates('queued', 'deferred', 'retrying'))(
      'deferring a $status message decides nothing',
      ({ history }) => {
        given(history).when(defer).then([]);
      },
    );
  });

  describe('Skip', () => {
    it.each(inStates('queued', 'deferred', 'retrying'))('skips a $status message with its reason', ({ history }) => {
      given(history).when(skip).then([skipped]);
    });

    it.each(message.SKIP_REASONS.map((reason) => ({ reason })))(
      'records the reason $reason and its detail',
      ({ reason }) => {
        given(histories.queued)
          .when({ ...skip, reason, detail: 'why' })
          .then([{ type: 'MessageSkipped', data: { ...ids, reason, detail: 'why' } }]);
      },
    );

    it.each(exceptStates('queued', 'deferred', 'retrying'))(
      'skipping a $status message decides nothing',
      ({ history }) => {
        given(history).when(skip).then([]);
      },
    );
  });

  describe('StartSend', () => {
    it('starts the first attempt of a queued message, with a lease', () => {
      given(histories.queued)
        .when(startSend)
        .then([sendStarted(1, t0, t0PlusLease)]);
    });

    it('starts a deferred message once its window opens', () => {
      given(histories.deferred)
        .when({ ...startSend, now: quietUntil })
        .then([sendStarted(1, quietUntil, '2026-11-24T13:00:30.000Z')]);
    });

    it('refuses a deferred message before its window opens with MESSAGE_NOT_DUE', () => {
      given(histories.deferred).when(startSend).thenThrows('MESSAGE_NOT_DUE');
    });

    it('starts the next attempt of a retrying message once its backoff has passed', () => {
      given(histories.retrying)
        .when({ ...startSend, now: retryAt1 })
        .then([sendStarted(2, retryAt1, '2026-11-24T10:05:32.000Z')]);
    });

    it('refuses a retrying message before its backoff has passed with MESSAGE_NOT_DUE', () => {
      given(histories.retrying)
        .when({ ...startSend, now: t1 })
        .thenThrows('MESSAGE_NOT_DUE');
    });

    it.each(exceptStates('queued', 'deferred', 'retrying'))(
      'refuses to send a $status message with MESSAGE_NOT_SENDABLE',
      ({ history }) => {
        given(history)
          .when({ ...startSend, now: '2027-01-01T00:00:00.000Z' })
          .thenThrows('MESSAGE_NOT_SENDABLE');
      },
    );
  });

  describe('RecordSent', () => {
    it('records the send of a message being sent', () => {
      given(histories.sending).when(recordSent).then([sent]);
    });

    it('still records a send the provider accepted after a reconciler gave up on it', () => {
      given(histories.retrying)
        .when({ ...recordSent, providerMessageId: 'SM9', now: t1 })
        .then([lateSent('SM9')]);
    });

    it.each(exceptStates('sending', 'retrying'))(
      'recording a send of a $status message decides nothing',
      ({ history }) => {
        given(history).when(recordSent).then([]);
      },
    );
  });

  describe('RecordSendFailed', () => {
    it('a retryable failure retries after a backoff of 2 s on the first attempt', () => {
      given(histories.sending).when(recordSendFailed()).then([failedRetryable]);
    });

    it('the backoff doubles with each attempt', () => {
      given(sendingOnAttempt(2))
        .when(recordSendFailed())
        .then([
          { ...failedRetryable, data: { ...failedRetryable.data, attempt: 2, retryAt: '2026-11-24T10:05:04.000Z' } },
        ]);
      given(sendingOnAttempt(4))
        .when(recordSendFailed())
        .then([
          { ...failedRetryable, data: { ...failedRetryable.data, attempt: 4, retryAt: '2026-11-24T10:05:16.000Z' } },
        ]);
    });

    it('a retryable failure whose retry would fall after the give-up time fails the message for good', () => {
      // Started at 10:00, failing at 10:05: a retry at 10:05:02 is past a 5-minute give-up time.
      given(histories.sending)
        .when(recordSendFailed(retryableFailure, t1, 5 * 60_000))
        .then([
          {
            ...failedRetryable,
            data: {
              ...failedRetryable.data,
              message: 'Too many requests Gave up after 1 attempt over 5 min.',
              retryable: false,
              retryAt: null,
            },
          },
        ]);
    });

    it('the give-up time counts from the first attempt, not the latest', () => {
      // Every attempt of this history started at 10:00; at 10:05 a fourth failure is retried, at 10:59:59 not.
      const early = given(sendingOnAttempt(4))
        .when(recordSendFailed(retryableFailure, t1, HOUR))
        .events();
      expect(early).toMatchObject([{ type: 'MessageSendFailed', data: { attempt: 4, retryable: true } }]);
      const late = '2026-11-24T10:59:59.000Z';
      const events = given(sendingOnAttempt(4))
        .when(recordSendFailed(retryableFailure, late, HOUR))
        .events();
      expect(events).toMatchObject([{ type: 'MessageSendFailed', data: { attempt: 4, retryable: false } }]);
    });

    it('an ambiguous failure records nothing: the send is reconciled once its lease ends', () => {
      given(histories.sending)
        .when(recordSendFailed({ kind: 'ambiguous', code: 'TIMEOUT', message: 'timeout', source: 'provider' }))
        .then([]);
    });

    it('a permanent failure fails the message with the provider code', () => {
      given(histories.sending).when(recordSendFailed(permanentFailure)).then([failedPermanent]);
    });

    it('after a permanent failure the message cannot be sent again', () => {
      given(histories.failed)
        .when({ ...startSend, now: '2027-01-01T00:00:00.000Z' })
        .thenThrows('MESSAGE_NOT_SENDABLE');
    });

    it.each(exceptStates('sending'))('recording a failure of a $status message decides nothing', ({ history }) => {
      given(history).when(recordSendFailed()).then([]);
      given(history).when(recordSendFailed(permanentFailure)).then([]);
    });
  });

  describe('Abandon', () => {
    it.each(inStates('queued', 'deferred', 'retrying', 'sending'))('ends a $status message Failed', ({ history }) => {
      const attempt = history.filter((event) => event.type === 'MessageSendStarted').length;
      given(history)
        .when(abandon)
        .then([
          {
            type: 'MessageSendFailed',
            data: {
              ...ids,
              attempt,
              retryable: false,
              code: 'SENDER_REMOVED',
              message: 'The campaign sender was removed from the account.',
              source: 'system',
              retryAt: null,
            },
          },
        ]);
    });

    it.each(exceptStates('queued', 'deferred', 'retrying', 'sending'))(
      'abandoning a $status message decides nothing',
      ({ history }) => {
        given(history).when(abandon).then([]);
      },
    );
  });

  describe('Reconcile', () => {
    it('records the send when the provider has the message', () => {
      given(histories.sending)
        .when(reconcile('SM7'))
        .then([lateSent('SM7')]);
    });

    it('looks again a lease later when the provider does not have it yet', () => {
      given(histories.sending).when(reconcile(null)).then([reconcileMissed]);
    });

    it('a message looked for again is leased until the recheck, still sending', () => {
      const state = [...histories.sending, reconcileMissed].reduce(message.evolve, message.initialState());
      expect(state).toMatchObject({
        status: 'sending',
        leaseUntil: reconcileMissed.data.recheckAt,
        reconcileMisses: 1,
      });
    });

    it('retries as LEASE_EXPIRED when the provider still does not have it on the second look', () => {
      given([...histories.sending, reconcileMissed])
        .when(reconcile(null))
        .then([
          {
            type: 'MessageSendFailed',
            data: {
              ...ids,
              attempt: 1,
              retryable: true,
              code: 'LEASE_EXPIRED',
              message: 'The send was not recorded within its lease and the provider has no record of it.',
              source: 'system',
              retryAt: retryAt1,
            },
          },
        ]);
    });

    it('records the send when the second look finds it (a slow provider stored it after the lease)', () => {
      given([...histories.sending, reconcileMissed])
        .when(reconcile('SM7'))
        .then([lateSent('SM7')]);
    });

    it('fails the message for good when the last look falls after the give-up time', () => {
      const late = '2026-11-24T10:59:50.000Z';
      given([...sendingOnAttempt(5), { ...reconcileMissed, data: { ...reconcileMissed.data, attempt: 5 } }])
        .when(reconcile(null, { now: late }))
        .then([
          {
            type: 'MessageSendFailed',
            data: {
              ...ids,
              attempt: 5,
              retryable: false,
              code: 'LEASE_EXPIRED',
              message:
                'The send was not recorded within its lease and the provider has no record of it. Gave up after 5 attempts over 60 min.',
              source: 'system',
              retryAt: null,
            },
          },
        ]);
    });

    it('a provider that cannot be asked keeps the message sending, with the error, until a recheck', () => {
      const unreachable = { kind: 'retryable', code: 'NETWORK', message: 'ECONNREFUSED', source: 'provider' } as const;
      given(histories.sending)
        .when(reconcile(null, { error: unreachable }))
        .then([
          {
            type: 'MessageReconcileDeferred',
            data: { ...reconcileMissed.data, code: 'NETWORK', message: 'ECONNREFUSED' },
          },
        ]);
    });

    it('a provider that cannot be asked until the give-up time ends the message Failed, never resent', () => {
      const unreachable = { kind: 'retryable', code: 'NETWORK', message: 'ECONNREFUSED', source: 'provider' } as const;
      given(histories.sending)
        .when(reconcile(null, { error: unreachable, now: '2026-11-24T10:59:45.000Z' }))
        .then([
          {
            type: 'MessageSendFailed',
            data: {
              ...ids,
              attempt: 1,
              retryable: false,
              code: 'UNCONFIRMED',
              message:
                'The provider could not be asked whether attempt 1 went out (NETWORK: ECONNREFUSED); it is not sent again.',
              source: 'system',
              retryAt: null,
            },
          },
        ]);
    });

    it.each(exceptStates('sending'))('reconciling a $status message decides nothing', ({ history }) => {
      given(history).when(reconcile('SM7')).then([]);
      given(history).when(reconcile(null)).then([]);
    });
  });

  describe('RecordStatus', () => {
    it('a sent message can be delivered', () => {
      given(histories.sent).when(recordStatus('delivered')).then([delivered]);
    });

    it.each(inStates('sent', 'delivered'))('a $status message can be read', ({ history }) => {
      given(history).when(recordStatus('read')).then([read]);
    });

    it('a sent message can be undelivered, with the provider code', () => {
      given(histories.sent)
        .when(recordStatus('undelivered', { code: '30003', message: 'Unreachable destination handset' }))
        .then([undelivered]);
    });

    it('a "failed" callback on a sent message records it as undelivered', () => {
      given(histories.sent)
        .when(recordStatus('failed', { code: '30008', message: 'Unknown error' }))
        .then([
          {
            type: 'MessageUndelivered',
            data: { ...ids, providerMessageId: 'SM1', at: t1, code: '30008', message: 'Unknown error' },
          },
        ]);
    });

    it('a failure callback without code or message records UNKNOWN and the status', () => {
      given(histories.sent)
        .when(recordStatus('failed'))
        .then([
          {
            type: 'MessageUndelivered',
            data: { ...ids, providerMessageId: 'SM1', at: t1, code: 'UNKNOWN', message: 'failed' },
          },
        ]);
    });

    it.each(inStates('sending', 'retrying'))(
      'a callback that overtakes the record of the send records a $status message sent, then its status',
      ({ history }) => {
        const sentByCallback: MessageEvent = {
          type: 'MessageSent',
          data: { ...ids, providerMessageId: 'SM1', sentAt: t1 },
        };
        given(history).when(recordStatus('delivered')).then([sentByCallback, delivered]);
        given(history).when(recordStatus('sent')).then([sentByCallback]);
        given(history)
          .when(recordStatus('undelivered', { code: '30003', message: 'Unreachable destination handset' }))
          .then([sentByCallback, undelivered]);
        given(history).when(recordStatus('queued')).then([]);
      },
    );

    it('a callback about another provider message changes nothing', () => {
      given(histories.sent)
        .when({
          ...(recordStatus('delivered') as Extract<MessageCommand, { type: 'RecordStatus' }>),
          providerMessageId: 'SM-other',
        })
        .then([]);
    });

    it.each(exceptStates('sent', 'sending', 'retrying'))('a $status message cannot become delivered', ({ history }) => {
      given(history).when(recordStatus('delivered')).then([]);
    });

    it.each(exceptStates('sent', 'delivered', 'sending', 'retrying'))(
      'a $status message cannot become read',
      ({ history }) => {
        given(history).when(recordStatus('read')).then([]);
      },
    );

    it.each(exceptStates('sent', 'sending', 'retrying'))(
      'a $status message cannot become undelivered or failed',
      ({ history }) => {
        given(history)
          .when(recordStatus('undelivered', { code: '30003' }))
          .then([]);
        given(history)
          .when(recordStatus('failed', { code: '30008' }))
          .then([]);
      },
    );

    it('ignores statuses that do not move a message forward', () => {
      for (const status of ['queued', 'accepted', 'sending', 'sent', 'DELIVERED']) {
        given(histories.sent).when(recordStatus(status)).then([]);
      }
    });
  });

  describe('RecordResponse', () => {
    it.each(inStates('sent', 'delivered', 'read'))('a consumer can respond to a $status message', ({ history }) => {
      given(history).when(recordResponse).then([responded]);
    });

    it.each(exceptStates('sent', 'delivered', 'read'))(
      'a response to a $status message decides nothing',
      ({ history }) => {
        given(history).when(recordResponse).then([]);
      },
    );
  });

  describe('helpers', () => {
    it('terminal statuses are those that need nothing more from the dispatcher', () => {
      expect(allStatuses.filter(message.isTerminal).sort()).toEqual(
        ['delivered', 'failed', 'read', 'responded', 'sent', 'skipped', 'undelivered'].sort(),
      );
      expect(message.isTerminal('none')).toBe(false);
    });

    it('backs off 2 s, 4 s, 8 s … capped at 5 minutes', () => {
      expect([1, 2, 3, 8, 9, 20].map(message.backoffMs)).toEqual([2000, 4000, 8000, 256_000, 300_000, 300_000]);
    });

    it('names the stream after the message id', () => {
      expect(message.messageStream('camp1.0')).toBe('message-camp1.0');
    });
  });
});
