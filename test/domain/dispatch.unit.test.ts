import { describe, expect, it } from 'vitest';
import * as account from '../../src/domain/account.ts';
import type { WeeklyWindow } from '../../src/domain/account-settings.ts';
import { WEEKDAYS } from '../../src/domain/account-settings.ts';
import * as campaign from '../../src/domain/campaign.ts';
import * as consumer from '../../src/domain/consumer.ts';
import * as conversation from '../../src/domain/conversation.ts';
import type { DomainEvent } from '../../src/domain/decider.ts';
import { type DispatchDecision, type DispatchFacts, decideDispatch } from '../../src/domain/dispatch.ts';
import * as message from '../../src/domain/message.ts';

/**
 * The dispatch decider, as sentences: given the streams as they stand, when the dispatcher looks at a message at
 * some instant, then it decides one thing.
 */

const accountId = 'acme';
const ids = { accountId, campaignId: 'camp1', messageId: 'camp1.0' };
const SMS_HOURS = Object.fromEntries(WEEKDAYS.map((day) => [day, { start: '08:00', end: '21:00' }])) as WeeklyWindow;
const ALWAYS = Object.fromEntries(WEEKDAYS.map((day) => [day, { start: '00:00', end: '24:00' }])) as WeeklyWindow;

const accountEvents = (window: WeeklyWindow = ALWAYS): DomainEvent[] => [
  { type: 'AccountCreated', data: { accountId, name: 'Acme', defaultTimeZone: 'UTC' } },
  { type: 'ProactiveActivated', data: { accountId } },
  ...account.BOT_USER_NAMES.map((name, n) => ({
    type: 'UserAdded',
    data: { accountId, userId: `bot-${n}`, kind: 'bot', email: null, name, role: 'bot' },
  })),
  {
    type: 'SenderAdded',
    data: { accountId, senderId: 's1', channel: 'sms', address: '+14155550100', label: 'Main', rate: 1 },
  },
  { type: 'SendRateSet', data: { accountId, channel: 'sms', rate: 10 } },
  { type: 'ReceivingWindowSet', data: { accountId, channel: 'sms', window } },
];
const campaignEvents = (extra: DomainEvent[] = []): DomainEvent[] => [
  {
    type: 'CampaignDrafted',
    data: {
      ...ids,
      name: 'Launch',
      channel: 'sms',
      senderId: 's1',
      senderAddress: '+14155550100',
      skillId: null,
      text: 'Hi {{name}}',
      optOutText: 'Reply STOP to opt out.',
      lookbackHours: 720,
      routeAllWithinLookback: false,
      source: 'api',
      handoffId: null,
      consent: true,
    },
  },
  { type: 'CampaignStarted', data: { ...ids, recipientCount: 1, startedAt: '2026-06-01T00:00:00.000Z' } },
  ...extra,
];
const queued: DomainEvent = {
  type: 'MessageQueued',
  data: { ...ids, consumerRef: 'ref-1', channel: 'sms', senderId: 's1', sealed: 'v1.x' },
};
const started = (at: string, leaseUntil: string): DomainEvent => ({
  type: 'MessageSendStarted',
  data: { ...ids, attempt: 1, startedAt: at, leaseUntil },
});
const conversationOpened: DomainEvent = {
  type: 'ConversationOpened',
  data: {
    accountId,
    conversationId: 'conv1',
    consumerRef: 'ref-1',
    channel: 'sms',
    senderId: 's1',
    skillId: null,
    routing: 'default-skill',
    campaignId: null,
    messageId: null,
    firstMessage: null,
  },
};
const linked: DomainEvent = {
  type: 'ConsumerConversationLinked',
  data: { accountId, consumerRef: 'ref-1', conversationId: 'conv1' },
};

// biome-ignore lint/suspicious/noExplicitAny: folding test histories through each stream's own decider.
const fold = <S>(decider: { evolve(s: S, e: any): S; initialState(): S }, events: DomainEvent[]) =>
  events.reduce(decider.evolve, decider.initialState());

interface Given {
  message?: DomainEvent[];
  campaign?: DomainEvent[];
  account?: DomainEvent[];
  consumer?: DomainEvent[];
  conversation?: DomainEvent[] | null;
  recipient?: DispatchFacts['recipient'];
  zones?: string[] | null;
  withinDailyCap?: boolean;
  landline?: boolean;
}

function given(streams: Given) {
  return {
    when: (now: string) => {
      const facts: DispatchFacts = {
        accountId,
        message: fold(message, streams.message ?? [queued]),
        campaign: fold(campaign, streams.campaign ?? campaignEvents()),
        account: fold(account, streams.account ?? accountEvents()),
        consumer: fold(consumer, streams.consumer ?? []),
        openConversation: streams.conversation ? fold(conversation, streams.conversation) : null,
        recipient:
          streams.recipient === undefined ? { phone: '+14155550123', variables: { name: 'Ann' } } : streams.recipient,
        zones: streams.zones === undefined ? ['America/Los_Angeles'] : streams.zones,
        now: new Date(now),
        withinDailyCap: streams.withinDailyCap ?? true,
        dailyCap: 100_000,
        landline: streams.landline ?? false,
      };
      const decision = decideDispatch(facts);
      return {
        // biome-ignore lint/suspicious/noThenProperty: the given/when/then sentence of CONVENTIONS.md; never awaited.
        then: (expected: DispatchDecision) => expect(decision).toEqual(expected),
        thenMatches: (expected: Partial<DispatchDecision> & { kind: DispatchDecision['kind'] }) =>
          expect(decision).toMatchObject(expected),
      };
    },
  };
}

const noon = '2026-06-02T19:00:00.000Z'; // 12:00 in Los Angeles (PDT)

describe('dispatch decider', () => {
  it('starts a due message: the rendered text with the opt-out line, from the sender, at its rates', () => {
    given({})
      .when(noon)
      .then({
        kind: 'start',
        send: {
          channel: 'sms',
          senderId: 's1',
          from: '+14155550100',
          to: '+14155550123',
          body: 'Hi Ann\nReply STOP to opt out.',
          senderRate: 1,
          channelRate: 10,
        },
      });
  });

  describe('skips, with the reason', () => {
    it('a consumer who opted out', () => {
      const optedOut: DomainEvent = {
        type: 'ConsumerOptedOut',
        data: { accountId, consumerRef: 'ref-1', keyword: 'STOP', channel: 'sms', via: 'keyword' },
      };
      given({ consumer: [optedOut] })
        .when(noon)
        .then({ kind: 'skip', reason: 'opted-out' });
    });

    it('a message of a cancelled campaign', () => {
      const cancelled: DomainEvent = { type: 'CampaignCancelled', data: { ...ids, reason: 'x', cancelledBy: 'u1' } };
      given({ campaign: campaignEvents([cancelled]) })
        .when(noon)
        .then({ kind: 'skip', reason: 'cancelled' });
    });

    it('a consumer in an open conversation', () => {
      given({ consumer: [linked], conversation: [conversationOpened] })
        .when(noon)
        .then({ kind: 'skip', reason: 'open-conversation' });
    });

    it('not a consumer whose linked conversation is already closed', () => {
      const closed: DomainEvent = {
        type: 'ConversationClosed',
        data: { accountId, conversationId: 'conv1', by: 'agent-1', reason: 'agent', closedAt: noon },
      };
      given({ consumer: [linked], conversation: [conversationOpened, closed] })
        .when(noon)
        .thenMatches({ kind: 'start' });
    });

    it('a first attempt past the account’s daily cap', () => {
      given({ withinDailyCap: false })
        .when(noon)
        .then({ kind: 'skip', reason: 'daily-cap', detail: 'At most 100000 SMS messages per day per account.' });
    });

    it('but not a retry past the daily cap: its first attempt was counted', () => {
      const failed: DomainEvent = {
        type: 'MessageSendFailed',
        data: {
          ...ids,
          attempt: 1,
          retryable: true,
          code: '20429',
          message: 'Too many requests',
          source: 'provider',
          retryAt: '2026-06-02T18:00:02.000Z',
        },
      };
      given({
        message: [queued, started('2026-06-02T18:00:00.000Z', '2026-06-02T18:00:30.000Z'), failed],
        withinDailyCap: false,
      })
        .when(noon)
        .thenMatches({ kind: 'start' });
    });

    it('while a bot user is missing, naming it', () => {
      const removed: DomainEvent = { type: 'UserRemoved', data: { accountId, userId: 'bot-1' } };
      given({ account: [...accountEvents(), removed] })
        .when(noon)
        .then({ kind: 'skip', reason: 'bot-users-missing', detail: 'Restore prmsg-bot-user-2 to send again.' });
    });

    it('a consumer whose key was erased', () => {
      given({ recipient: null }).when(noon).then({ kind: 'skip', reason: 'erased' });
    });

    it('not a number that came back after an erasure: its new message opens with its new key', () => {
      const erased: DomainEvent = {
        type: 'ConsumerErased',
        data: { accountId, consumerRef: 'ref-1', requestedBy: 'u', erasureId: 'e1', requestedAt: noon },
      };
      given({ consumer: [erased] })
        .when(noon)
        .thenMatches({ kind: 'start' });
    });

    it('a landline, when the account checks line types (B4)', () => {
      given({ landline: true }).when(noon).then({ kind: 'skip', reason: 'landline' });
    });
  });

  it('fails a message whose sender was removed, without sending', () => {
    const removed: DomainEvent = { type: 'SenderRemoved', data: { accountId, senderId: 's1' } };
    given({ account: [...accountEvents(), removed] })
      .when(noon)
      .then({ kind: 'fail', code: 'SENDER_REMOVED', message: 'The campaign sender was removed from the account.' });
  });

  describe('the receiving window', () => {
    it('defers a recipient outside it to its next opening in the recipient’s zone', () => {
      // 22:00 in Honolulu → 08:00 the next morning there (18:00 UTC).
      given({ account: accountEvents(SMS_HOURS), zones: ['Pacific/Honolulu'] })
        .when('2026-06-03T08:00:00.000Z')
        .then({ kind: 'defer', until: new Date('2026-06-03T18:00:00.000Z'), zones: ['Pacific/Honolulu'] });
    });

    it('with several zones, waits until the window is open in all of them', () => {
      // 08:30 in New York but 05:30 in Los Angeles: both are open from 08:00 Los Angeles (15:00 UTC).
      given({ account: accountEvents(SMS_HOURS), zones: ['America/New_York', 'America/Los_Angeles'] })
        .when('2026-06-02T12:30:00.000Z')
        .then({
          kind: 'defer',
          until: new Date('2026-06-02T15:00:00.000Z'),
          zones: ['America/New_York', 'America/Los_Angeles'],
        });
    });

    it('on the day clocks spring forward, opens at 08:00 local summer time', () => {
      // 8 March 2026, New York: 01:30 EST; the window opens at 08:00 EDT, 12:00 UTC (not 13:00).
      given({ account: accountEvents(SMS_HOURS), zones: ['America/New_York'] })
        .when('2026-03-08T06:30:00.000Z')
        .then({ kind: 'defer', until: new Date('2026-03-08T12:00:00.000Z'), zones: ['America/New_York'] });
    });

    it('on the day clocks fall back, opens at 08:00 local winter time', () => {
      // 1 November 2026, New York: 01:30 EDT; the window opens at 08:00 EST, 13:00 UTC (not 12:00).
      given({ account: accountEvents(SMS_HOURS), zones: ['America/New_York'] })
        .when('2026-11-01T05:30:00.000Z')
        .then({ kind: 'defer', until: new Date('2026-11-01T13:00:00.000Z'), zones: ['America/New_York'] });
    });

    it('sends when the window is open, and uses the account’s zone when the number tells none', () => {
      given({ account: accountEvents(SMS_HOURS), zones: null })
        .when('2026-06-02T12:00:00.000Z')
        .thenMatches({
          kind: 'start',
        });
      given({ account: accountEvents(SMS_HOURS), zones: null })
        .when('2026-06-02T22:00:00.000Z')
        .then({ kind: 'defer', until: new Date('2026-06-03T08:00:00.000Z'), zones: ['UTC'] });
    });
  });

  describe('a message already sending', () => {
    const sending = [queued, started('2026-06-02T18:59:00.000Z', '2026-06-02T18:59:30.000Z')];

    it('waits while its lease is held by the worker sending it', () => {
      given({ message: sending })
        .when('2026-06-02T18:59:10.000Z')
        .then({ kind: 'wait', until: new Date('2026-06-02T18:59:30.000Z'), why: 'lease-held' });
    });

    it('is reconciled with the provider once the lease has ended, never started again', () => {
      given({ message: sending })
        .when(noon)
        .then({
          kind: 'reconcile',
          channel: 'sms',
          from: '+14155550100',
          to: '+14155550123',
          since: new Date('2026-06-02T18:59:00.000Z'),
        });
    });

    it('is reconciled even when the campaign was cancelled or the consumer opted out meanwhile', () => {
      const cancelled: DomainEvent = { type: 'CampaignCancelled', data: { ...ids, reason: 'x', cancelledBy: 'u1' } };
      given({ message: sending, campaign: campaignEvents([cancelled]) })
        .when(noon)
        .thenMatches({ kind: 'reconcile' });
    });

    it('ends Failed when the consumer was erased while its outcome was unknown', () => {
      given({ message: sending, recipient: null }).when(noon).thenMatches({ kind: 'fail', code: 'ERASED' });
    });
  });

  it('waits for a deferred message until it is due', () => {
    const deferred: DomainEvent = {
      type: 'MessageDeferred',
      data: { ...ids, until: '2026-06-02T20:00:00.000Z', zones: ['America/Los_Angeles'] },
    };
    given({ message: [queued, deferred] })
      .when(noon)
      .then({ kind: 'wait', until: new Date('2026-06-02T20:00:00.000Z'), why: 'not-due' });
  });

  it('has nothing to do for a message that is done, or of another account', () => {
    const sent: DomainEvent = { type: 'MessageSent', data: { ...ids, providerMessageId: 'SM1', sentAt: noon } };
    given({ message: [queued, started(noon, noon), sent] })
      .when(noon)
      .then({ kind: 'wait', until: null, why: 'done' });
    const elsewhere: DomainEvent = { ...queued, data: { ...queued.data, accountId: 'other' } };
    given({ message: [elsewhere] })
      .when(noon)
      .then({ kind: 'wait', until: null, why: 'done' });
  });
});
