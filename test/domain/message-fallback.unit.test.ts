import { describe, expect, it } from 'vitest';
import * as message from '../../src/domain/message.ts';
import type { MessageEvent } from '../../src/domain/message-events.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(message);
const ids = { accountId: 'acme', campaignId: 'camp1', messageId: 'camp1.0' };
const t0 = '2026-12-01T10:00:00.000Z';
const t1 = '2026-12-01T10:10:00.000Z';
const queuedWhatsApp: MessageEvent = {
  type: 'MessageQueued',
  data: {
    ...ids,
    consumerRef: 'ref-1',
    channel: 'whatsapp',
    senderId: 'wa1',
    sealed: 'v1.x',
    contentSid: 'HX1',
    fallbackSenderId: 'sms1',
  },
};
const started = (attempt: number): MessageEvent => ({
  type: 'MessageSendStarted',
  data: { ...ids, attempt, startedAt: t0, leaseUntil: t1 },
});
const sentWhatsApp: MessageEvent = { type: 'MessageSent', data: { ...ids, providerMessageId: 'WA1', sentAt: t0 } };
const fellBack = (reason: string, at = t1): MessageEvent => ({
  type: 'MessageFellBack',
  data: { ...ids, from: 'whatsapp', to: 'sms', senderId: 'sms1', reason, at },
});
const notOnWhatsApp = {
  kind: 'permanent' as const,
  code: '63003',
  message: 'not on WhatsApp',
  source: 'provider' as const,
};
const fold = (events: MessageEvent[]) => events.reduce(message.evolve, message.initialState());

describe('the prioritized channel on a message', () => {
  it('a permanent WhatsApp failure fails the attempt and falls back to SMS from the fallback sender', () => {
    const events = given([queuedWhatsApp, started(1)])
      .when({ type: 'RecordSendFailed', ...ids, failure: notOnWhatsApp, now: t0, giveUpMs: 3_600_000 })
      .events();
    expect(events.map((event) => event.type)).toEqual(['MessageSendFailed', 'MessageFellBack']);
    const state = fold([queuedWhatsApp, started(1), ...events]);
    expect(state).toMatchObject({ status: 'queued', attempts: 0, fellBackFrom: '' });
    expect(state.queued).toMatchObject({ channel: 'sms', senderId: 'sms1' });
  });

  it('a message without a fallback sender just fails', () => {
    const alone: MessageEvent = {
      type: 'MessageQueued',
      data: { ...ids, consumerRef: 'ref-1', channel: 'whatsapp', senderId: 'wa1', sealed: 'v1.x' },
    };
    const events = given([alone, started(1)])
      .when({ type: 'RecordSendFailed', ...ids, failure: notOnWhatsApp, now: t0, giveUpMs: 3_600_000 })
      .events();
    expect(events.map((event) => event.type)).toEqual(['MessageSendFailed']);
  });

  it('a missing receipt falls back only while the WhatsApp message is sent and not delivered', () => {
    given([queuedWhatsApp, started(1), sentWhatsApp])
      .when({ type: 'FallBack', ...ids, now: t1 })
      .then([fellBack('NO_DELIVERY_RECEIPT')]);
    const delivered: MessageEvent = { type: 'MessageDelivered', data: { ...ids, providerMessageId: 'WA1', at: t0 } };
    given([queuedWhatsApp, started(1), sentWhatsApp, delivered])
      .when({ type: 'FallBack', ...ids, now: t1 })
      .then([]);
    // Once fallen back it is an SMS: it does not fall back again.
    given([queuedWhatsApp, started(1), sentWhatsApp, fellBack('NO_DELIVERY_RECEIPT')])
      .when({ type: 'FallBack', ...ids, now: t1 })
      .then([]);
  });

  it('a late WhatsApp receipt before the SMS went out cancels it: the message is delivered', () => {
    const history = [queuedWhatsApp, started(1), sentWhatsApp, fellBack('NO_DELIVERY_RECEIPT')];
    const events = given(history)
      .when({ type: 'RecordStatus', ...ids, providerMessageId: 'WA1', status: 'delivered', now: t1 })
      .events();
    expect(events).toEqual([{ type: 'MessageDelivered', data: { ...ids, providerMessageId: 'WA1', at: t1 } }]);
    expect(fold([...history, ...events]).status).toBe('delivered');
    expect(message.waiting(fold([...history, ...events]).status)).toBe(false);
  });

  it('a late WhatsApp receipt while the SMS is sending is recorded, and does not pass for the SMS', () => {
    const history = [queuedWhatsApp, started(1), sentWhatsApp, fellBack('NO_DELIVERY_RECEIPT'), started(1)];
    const events = given(history)
      .when({ type: 'RecordStatus', ...ids, providerMessageId: 'WA1', status: 'delivered', now: t1 })
      .events();
    expect(events.map((event) => event.type)).toEqual(['MessageDelivered']);
    expect(fold([...history, ...events]).status).toBe('sending');
  });

  it('after the SMS went out both deliveries are recorded, each once', () => {
    const smsSent: MessageEvent = { type: 'MessageSent', data: { ...ids, providerMessageId: 'SM1', sentAt: t1 } };
    const waDelivered: MessageEvent = { type: 'MessageDelivered', data: { ...ids, providerMessageId: 'WA1', at: t1 } };
    const history = [queuedWhatsApp, started(1), sentWhatsApp, fellBack('NO_DELIVERY_RECEIPT'), started(1), smsSent];
    given(history)
      .when({ type: 'RecordStatus', ...ids, providerMessageId: 'WA1', status: 'read', now: t1 })
      .then([waDelivered]);
    given([...history, waDelivered])
      .when({ type: 'RecordStatus', ...ids, providerMessageId: 'WA1', status: 'read', now: t1 })
      .then([]);
    given([...history, waDelivered])
      .when({ type: 'RecordStatus', ...ids, providerMessageId: 'SM1', status: 'delivered', now: t1 })
      .then([{ type: 'MessageDelivered', data: { ...ids, providerMessageId: 'SM1', at: t1 } }]);
  });

  it('an SMS attempt that fails after the late WhatsApp receipt is not retried: WhatsApp delivered it', () => {
    const waDelivered: MessageEvent = { type: 'MessageDelivered', data: { ...ids, providerMessageId: 'WA1', at: t1 } };
    const history = [
      queuedWhatsApp,
      started(1),
      sentWhatsApp,
      fellBack('NO_DELIVERY_RECEIPT'),
      started(1),
      waDelivered,
    ];
    const busy = {
      kind: 'retryable' as const,
      code: '20500',
      message: 'Internal Server Error',
      source: 'provider' as const,
    };
    const failed = given(history)
      .when({ type: 'RecordSendFailed', ...ids, failure: busy, now: t1, giveUpMs: 3_600_000 })
      .events();
    expect(failed).toMatchObject([{ type: 'MessageSendFailed', data: { retryable: false, retryAt: null } }]);
    expect(fold([...history, ...failed])).toMatchObject({ status: 'delivered', providerMessageId: 'WA1' });
    // The same when a crash lost the attempt: nothing found at the provider twice ends it, never a new SMS.
    const reconcile = {
      type: 'Reconcile' as const,
      ...ids,
      found: null,
      now: t1,
      recheckMs: 1000,
      giveUpMs: 3_600_000,
    };
    const looked = given(history).when(reconcile).events();
    const lost = given([...history, ...looked])
      .when(reconcile)
      .events();
    expect(lost).toMatchObject([{ type: 'MessageSendFailed', data: { code: 'LEASE_EXPIRED', retryable: false } }]);
    expect(fold([...history, ...looked, ...lost]).status).toBe('delivered');
  });
});
