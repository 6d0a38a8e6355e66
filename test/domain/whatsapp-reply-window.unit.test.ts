import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/domain/conversation.ts';
import * as conversation from '../../src/domain/conversation.ts';
import { latestLegOn, sentLegs } from '../../src/domain/proactive-legs.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(conversation);
const accountId = 'acme';
const conversationId = 'c1';
const wrote = '2026-12-01T10:00:00.000Z';
const at = (hours: number) => new Date(Date.parse(wrote) + hours * 3_600_000);

const opened = (channel: 'sms' | 'whatsapp' | 'inapp'): ConversationEvent => ({
  type: 'ConversationOpened',
  data: {
    accountId,
    conversationId,
    consumerRef: 'ref',
    channel,
    senderId: 's1',
    skillId: 'sales',
    routing: 'first-reply',
    campaignId: 'camp',
    messageId: 'camp.0',
    firstMessage: null,
  },
});
const received: ConversationEvent = {
  type: 'ConsumerMessageReceived',
  data: { accountId, conversationId, providerMessageId: 'SM1', sealed: 'v1.y', receivedAt: wrote },
};
const reply = (now: Date) =>
  ({
    type: 'SendAgentMessage',
    accountId,
    conversationId,
    agentId: 'agent-1',
    providerMessageId: 'SM2',
    sealed: 'v1.z',
    now: now.toISOString(),
  }) as const;

describe("WhatsApp's 24-hour window for an agent's free text", () => {
  const state = (channel: 'sms' | 'whatsapp' | 'inapp') =>
    [opened(channel), received].reduce(conversation.evolve, conversation.initialState());

  it('is open until exactly 24 hours after the consumer last wrote, and closed from that instant', () => {
    expect(conversation.agentReplyWindow(state('whatsapp'), at(0))).toEqual({ open: true, closesAt: at(24) });
    expect(conversation.agentReplyWindow(state('whatsapp'), at(23.99))).toEqual({ open: true, closesAt: at(24) });
    const closed = conversation.agentReplyWindow(state('whatsapp'), at(24));
    expect(closed).toMatchObject({ open: false, closedAt: at(24) });
    expect(closed.open === false && closed.reason).toContain('24-hour window closed at 2026-12-02 10:00 UTC');
  });

  it('restarts with every consumer message, not with the agent’s', () => {
    const later: ConversationEvent = {
      type: 'ConsumerMessageReceived',
      data: { ...received.data, providerMessageId: 'SM3', receivedAt: at(20).toISOString() },
    };
    const agent: ConversationEvent = {
      type: 'AgentMessageSent',
      data: {
        accountId,
        conversationId,
        agentId: 'a',
        providerMessageId: 'SM4',
        sealed: 'x',
        sentAt: at(30).toISOString(),
      },
    };
    const folded = [opened('whatsapp'), received, later, agent].reduce(
      conversation.evolve,
      conversation.initialState(),
    );
    expect(conversation.agentReplyWindow(folded, at(43))).toEqual({ open: true, closesAt: at(44) });
    expect(conversation.agentReplyWindow(folded, at(44)).open).toBe(false);
  });

  it('never limits SMS or In-App replies', () => {
    expect(conversation.agentReplyWindow(state('sms'), at(1000))).toEqual({ open: true, closesAt: null });
    expect(conversation.agentReplyWindow(state('inapp'), at(1000))).toEqual({ open: true, closesAt: null });
  });

  it('is closed on a WhatsApp conversation whose consumer never wrote', () => {
    const folded = [opened('whatsapp')].reduce(conversation.evolve, conversation.initialState());
    expect(conversation.agentReplyWindow(folded, at(0)).open).toBe(false);
  });

  it('is kept by the decider: a reply outside it is refused, inside it is recorded', () => {
    given([opened('whatsapp'), received])
      .when(reply(at(25)))
      .thenThrows('WHATSAPP_WINDOW_CLOSED');
    expect(
      given([opened('whatsapp'), received])
        .when(reply(at(1)))
        .events(),
    ).toHaveLength(1);
    expect(
      given([opened('sms'), received])
        .when(reply(at(25)))
        .events(),
    ).toHaveLength(1);
  });
});

describe('the legs of a proactive message', () => {
  const ids = { accountId, campaignId: 'camp', messageId: 'camp.0' };
  const events = [
    { type: 'MessageQueued', data: { ...ids, channel: 'whatsapp' } },
    { type: 'MessageSent', data: { ...ids, providerMessageId: 'WA1', sentAt: '2026-12-01T09:00:00.000Z' } },
    { type: 'MessageFellBack', data: { ...ids, from: 'whatsapp', to: 'sms' } },
    { type: 'MessageSent', data: { ...ids, providerMessageId: 'SM1', sentAt: '2026-12-01T09:10:00.000Z' } },
  ];

  it('says which channel each send went on: a prioritized message’s WhatsApp leg, then its SMS', () => {
    expect(sentLegs(events)).toEqual([
      { channel: 'whatsapp', sentAt: '2026-12-01T09:00:00.000Z' },
      { channel: 'sms', sentAt: '2026-12-01T09:10:00.000Z' },
    ]);
    expect(latestLegOn(events, 'whatsapp')?.sentAt).toBe('2026-12-01T09:00:00.000Z');
    expect(latestLegOn(events.slice(0, 1), 'whatsapp')).toBeNull();
    expect(latestLegOn(events, 'inapp')).toBeNull();
  });
});
