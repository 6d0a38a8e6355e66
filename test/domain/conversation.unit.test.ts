import { describe, expect, it } from 'vitest';
import type { ConversationEvent, RoutingInput } from '../../src/domain/conversation.ts';
import * as conversation from '../../src/domain/conversation.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(conversation);
const accountId = 'acme';
const conversationId = 'c1';
const opened: ConversationEvent = {
  type: 'ConversationOpened',
  data: {
    accountId,
    conversationId,
    consumerRef: 'ref',
    channel: 'sms',
    senderId: 's1',
    skillId: 'sales',
    routing: 'first-reply',
    campaignId: 'camp',
    messageId: 'camp.0',
    firstMessage: { sealed: 'v1.x', sentAt: '2026-11-24T10:00:00.000Z', campaignName: 'Launch' },
  },
};
const received: ConversationEvent = {
  type: 'ConsumerMessageReceived',
  data: { accountId, conversationId, providerMessageId: 'SM1', sealed: 'v1.y', receivedAt: '2026-11-24T10:05:00.000Z' },
};
const closed: ConversationEvent = {
  type: 'ConversationClosed',
  data: { accountId, conversationId, by: 'agent-1', reason: 'agent', closedAt: '2026-11-24T11:00:00.000Z' },
};

describe('conversation decider', () => {
  it('opens once', () => {
    given([])
      .when({ type: 'OpenConversation', ...opened.data } as never)
      .then([opened]);
    given([opened])
      .when({ type: 'OpenConversation', ...opened.data } as never)
      .thenThrows('CONVERSATION_EXISTS');
  });

  it('records a consumer message once per provider id', () => {
    const command = {
      type: 'ReceiveConsumerMessage',
      accountId,
      conversationId,
      providerMessageId: 'SM1',
      sealed: 'v1.y',
      now: '2026-11-24T10:05:00.000Z',
    } as const;
    given([opened]).when(command).then([received]);
    given([opened, received]).when(command).then([]);
    given([]).when(command).thenThrows('CONVERSATION_NOT_FOUND');
    given([opened, closed]).when(command).thenThrows('CONVERSATION_CLOSED');
  });

  it('lets agents reply, transfer and close; closing twice is a no-op; another account sees nothing', () => {
    given([opened])
      .when({
        type: 'SendAgentMessage',
        accountId,
        conversationId,
        agentId: 'a',
        providerMessageId: 'SM2',
        sealed: 's',
        now: 'now',
      })
      .then([
        {
          type: 'AgentMessageSent',
          data: { accountId, conversationId, agentId: 'a', providerMessageId: 'SM2', sealed: 's', sentAt: 'now' },
        },
      ]);
    given([opened])
      .when({ type: 'TransferConversation', accountId, conversationId, toSkillId: 'support', by: 'a' })
      .then([
        {
          type: 'ConversationTransferred',
          data: { accountId, conversationId, fromSkillId: 'sales', toSkillId: 'support', by: 'a' },
        },
      ]);
    given([opened])
      .when({ type: 'TransferConversation', accountId, conversationId, toSkillId: 'sales', by: 'a' })
      .then([]);
    given([opened])
      .when({
        type: 'CloseConversation',
        accountId,
        conversationId,
        by: 'agent-1',
        reason: 'agent',
        now: '2026-11-24T11:00:00.000Z',
      })
      .then([closed]);
    given([opened, closed])
      .when({ type: 'CloseConversation', accountId, conversationId, by: 'agent-1', reason: 'agent', now: 'later' })
      .then([]);
    given([opened, closed])
      .when({
        type: 'SendAgentMessage',
        accountId,
        conversationId,
        agentId: 'a',
        providerMessageId: 'SM3',
        sealed: 's',
        now: 'now',
      })
      .thenThrows('CONVERSATION_CLOSED');
    given([opened])
      .when({ type: 'CloseConversation', accountId: 'other', conversationId, by: 'x', reason: 'agent', now: 'now' })
      .thenThrows('CONVERSATION_NOT_FOUND');
  });
});

describe('reply routing (F8)', () => {
  const sentAt = new Date('2026-11-24T10:00:00.000Z');
  const input = (overrides: Partial<NonNullable<RoutingInput['latestProactive']>>, now: Date): RoutingInput => ({
    now,
    defaultSkillId: 'default',
    latestProactive: {
      campaignId: 'camp',
      messageId: 'camp.0',
      skillId: 'sales',
      sentAt,
      lookbackHours: 24,
      routeAllWithinLookback: false,
      responded: false,
      ...overrides,
    },
  });
  const justBefore = new Date(sentAt.getTime() + 24 * 3_600_000 - 1);
  const atExpiry = new Date(sentAt.getTime() + 24 * 3_600_000);

  it('sends the first reply within the lookback to the campaign skill, up to the last millisecond', () => {
    expect(conversation.routeReply(input({}, justBefore))).toEqual({
      routing: 'first-reply',
      skillId: 'sales',
      campaignId: 'camp',
      messageId: 'camp.0',
    });
  });

  it('treats a reply at the exact end of the lookback as outside it', () => {
    expect(conversation.routeReply(input({}, atExpiry))).toEqual({
      routing: 'default-skill',
      skillId: 'default',
      campaignId: null,
      messageId: null,
    });
  });

  it('routes later conversations within the lookback by mode', () => {
    expect(conversation.routeReply(input({ responded: true, routeAllWithinLookback: true }, justBefore))).toMatchObject(
      {
        routing: 'within-lookback',
        skillId: 'sales',
      },
    );
    expect(
      conversation.routeReply(input({ responded: true, routeAllWithinLookback: false }, justBefore)),
    ).toMatchObject({
      routing: 'default-skill',
      skillId: 'default',
    });
  });

  it('sends a consumer never messaged to the default skill', () => {
    expect(conversation.routeReply({ now: sentAt, defaultSkillId: 'default', latestProactive: null })).toEqual({
      routing: 'default-skill',
      skillId: 'default',
      campaignId: null,
      messageId: null,
    });
  });
});
