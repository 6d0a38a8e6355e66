import { describe, expect, it } from 'vitest';
import type { ConsumerCommand, ConsumerEvent } from '../../src/domain/consumer.ts';
import * as consumer from '../../src/domain/consumer.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(consumer);
const accountId = 'acme';
const consumerRef = 'ref-1';

const optOut: ConsumerCommand = {
  type: 'OptOut',
  accountId,
  consumerRef,
  keyword: 'STOP',
  channel: 'sms',
  via: 'keyword',
};
const optIn: ConsumerCommand = {
  type: 'OptIn',
  accountId,
  consumerRef,
  keyword: 'START',
  channel: 'sms',
  via: 'keyword',
};
const optedOut: ConsumerEvent = {
  type: 'ConsumerOptedOut',
  data: { accountId, consumerRef, keyword: 'STOP', channel: 'sms', via: 'keyword' },
};
const optedIn: ConsumerEvent = {
  type: 'ConsumerOptedIn',
  data: { accountId, consumerRef, keyword: 'START', channel: 'sms', via: 'keyword' },
};
const erased: ConsumerEvent = { type: 'ConsumerErased', data: { accountId, consumerRef, requestedBy: 'u-admin' } };

describe('consumer decider', () => {
  describe('OptOut', () => {
    it('opts out a consumer never seen before', () => {
      given([]).when(optOut).then([optedOut]);
    });

    it('records how the opt-out arrived', () => {
      given([])
        .when({ ...optOut, keyword: null, via: 'provider-21610' })
        .then([
          {
            type: 'ConsumerOptedOut',
            data: { accountId, consumerRef, keyword: null, channel: 'sms', via: 'provider-21610' },
          },
        ]);
      given([])
        .when({ ...optOut, keyword: null, via: 'api' })
        .then([
          { type: 'ConsumerOptedOut', data: { accountId, consumerRef, keyword: null, channel: 'sms', via: 'api' } },
        ]);
    });

    it('opting out an opted-out consumer decides nothing', () => {
      given([optedOut])
        .when({ ...optOut, keyword: 'QUIT' })
        .then([]);
    });

    it('opts out again after an opt-in', () => {
      given([optedOut, optedIn]).when(optOut).then([optedOut]);
    });

    it('still opts out a number that was erased: a STOP is always honoured', () => {
      given([erased]).when(optOut).then([optedOut]);
      given([optedOut, optedIn, erased]).when(optOut).then([optedOut]);
    });

    it('an opt-out outlives the erasure', () => {
      given([optedOut, erased])
        .when({ ...optOut, keyword: 'QUIT' })
        .then([]);
    });
  });

  describe('OptIn', () => {
    it('opts an opted-out consumer back in', () => {
      given([optedOut]).when(optIn).then([optedIn]);
    });

    it('opting in a consumer who never opted out decides nothing', () => {
      given([]).when(optIn).then([]);
    });

    it('opting in an opted-in consumer decides nothing', () => {
      given([optedOut, optedIn]).when(optIn).then([]);
    });

    it('opts back in a number that opted out before its erasure', () => {
      given([optedOut, erased]).when(optIn).then([optedIn]);
      given([erased]).when(optIn).then([]);
    });
  });

  it('names the stream after the account and the consumer', () => {
    expect(consumer.consumerStream('acme', 'ref-1')).toBe('consumer-acme.ref-1');
  });
});

describe('classifyKeyword', () => {
  const cases = [
    ...['STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'REVOKE', 'OPTOUT', 'CANCEL'].map((word) => ({
      word,
      kind: 'opt-out',
    })),
    ...['START', 'YES', 'UNSTOP'].map((word) => ({ word, kind: 'opt-in' })),
    ...['HELP', 'INFO'].map((word) => ({ word, kind: 'help' })),
  ] as const;

  it.each(cases)('$word is $kind', ({ word, kind }) => {
    expect(consumer.classifyKeyword(word)).toBe(kind);
  });

  it.each(cases)('$word is $kind in any case', ({ word, kind }) => {
    const mixed = [...word].map((letter, i) => (i % 2 === 0 ? letter.toLowerCase() : letter)).join('');
    expect(consumer.classifyKeyword(word.toLowerCase())).toBe(kind);
    expect(consumer.classifyKeyword(mixed)).toBe(kind);
  });

  it.each(cases)('$word is $kind with whitespace around it', ({ word, kind }) => {
    expect(consumer.classifyKeyword(`  ${word}  `)).toBe(kind);
    expect(consumer.classifyKeyword(`\t${word.toLowerCase()}\r\n`)).toBe(kind);
  });

  it.each(['Please stop', 'stop please', 'STOP.', 'S TOP', 'STOPP', 'HELP ME', 'yes!', 'OPT OUT', 'hello', '', '   '])(
    '%j is not a keyword',
    (body) => {
      expect(consumer.classifyKeyword(body)).toBeNull();
    },
  );
});

describe('consumer conversation link (F18)', () => {
  const link = (conversationId: string): ConsumerCommand => ({
    type: 'LinkConversation',
    accountId,
    consumerRef,
    conversationId,
  });
  const unlink = (conversationId: string): ConsumerCommand => ({
    type: 'UnlinkConversation',
    accountId,
    consumerRef,
    conversationId,
  });
  const linked = (conversationId: string): ConsumerEvent => ({
    type: 'ConsumerConversationLinked',
    data: { accountId, consumerRef, conversationId },
  });
  const unlinked = (conversationId: string): ConsumerEvent => ({
    type: 'ConsumerConversationUnlinked',
    data: { accountId, consumerRef, conversationId },
  });

  it('links a conversation to a consumer without one', () => {
    given([])
      .when(link('c1'))
      .then([linked('c1')]);
    given([optedOut, optedIn])
      .when(link('c1'))
      .then([linked('c1')]);
  });

  it('linking the same conversation again decides nothing', () => {
    given([linked('c1')])
      .when(link('c1'))
      .then([]);
  });

  it('refuses a second open conversation', () => {
    given([linked('c1')])
      .when(link('c2'))
      .thenThrows('CONVERSATION_ALREADY_OPEN');
  });

  it('unlinks only the open conversation; another id or none decides nothing', () => {
    given([linked('c1')])
      .when(unlink('c1'))
      .then([unlinked('c1')]);
    given([linked('c1')])
      .when(unlink('c2'))
      .then([]);
    given([]).when(unlink('c1')).then([]);
    given([linked('c1'), unlinked('c1')])
      .when(unlink('c1'))
      .then([]);
  });

  it('after an unlink, a new conversation can be linked', () => {
    given([linked('c1'), unlinked('c1')])
      .when(link('c2'))
      .then([linked('c2')]);
  });

  it('a number that comes back after its erasure gets a new conversation', () => {
    given([linked('c1'), erased])
      .when(link('c2'))
      .then([linked('c2')]);
  });

  it('tracks the open conversation in its state', () => {
    const state = [linked('c1')].reduce(consumer.evolve, consumer.initialState());
    expect(state.openConversationId).toBe('c1');
    expect(
      [linked('c1'), unlinked('c1')].reduce(consumer.evolve, consumer.initialState()).openConversationId,
    ).toBeNull();
  });
});

describe('Erase and RecordExport', () => {
  const erase: ConsumerCommand = {
    type: 'Erase',
    accountId,
    consumerRef,
    requestedBy: 'u-admin',
    erasureId: 'e-1',
    requestedAt: '2026-12-01T10:00:00.000Z',
  };
  const erasedEvent: ConsumerEvent = {
    type: 'ConsumerErased',
    data: { accountId, consumerRef, requestedBy: 'u-admin', erasureId: 'e-1', requestedAt: '2026-12-01T10:00:00.000Z' },
  };
  const linked: ConsumerEvent = {
    type: 'ConsumerConversationLinked',
    data: { accountId, consumerRef, conversationId: 'c1' },
  };

  it('erases a consumer, even one never seen (a campaign recipient has no consumer events)', () => {
    given([]).when(erase).then([erasedEvent]);
    given([optedOut]).when(erase).then([erasedEvent]);
  });

  it('unlinks the open conversation with the erasure', () => {
    given([linked])
      .when(erase)
      .then([
        { type: 'ConsumerConversationUnlinked', data: { accountId, consumerRef, conversationId: 'c1' } },
        erasedEvent,
      ]);
  });

  it('erases again when asked again (new data may have come under a new key meanwhile)', () => {
    given([erasedEvent]).when(erase).then([erasedEvent]);
  });

  it('erases again after the number came back', () => {
    given([erasedEvent, optedOut]).when(erase).then([erasedEvent]);
  });

  it('records who exported the data, erased or not', () => {
    const exported: ConsumerEvent = {
      type: 'ConsumerDataExported',
      data: { accountId, consumerRef, exportedBy: 'client-1', exportId: 'x-1', exportedAt: '2026-12-01T10:00:00.000Z' },
    };
    const command: ConsumerCommand = {
      type: 'RecordExport',
      accountId,
      consumerRef,
      exportedBy: 'client-1',
      exportId: 'x-1',
      exportedAt: '2026-12-01T10:00:00.000Z',
    };
    given([]).when(command).then([exported]);
    given([erasedEvent]).when(command).then([exported]);
  });
});
