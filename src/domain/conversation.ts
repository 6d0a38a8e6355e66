import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

/**
 * A two-way conversation that a consumer's reply opens (F18). The first proactive message and every text are
 * personal data, so they travel sealed with the consumer's key (`sealed` fields), never in plaintext.
 */

export const conversationStream = (conversationId: string) => `conversation-${conversationId}`;

export const MAX_AGENT_MESSAGE_LENGTH = 1600;

const channel = z.enum(['sms', 'whatsapp', 'inapp']);

export const ConversationEvents = {
  ConversationOpened: z.object({
    accountId: z.string(),
    conversationId: z.string(),
    consumerRef: z.string(),
    channel,
    senderId: z.string().nullable(),
    skillId: z.string().nullable(),
    /** Why it went to that skill: the campaign's first reply, routed within the lookback, or the default. */
    routing: z.enum(['first-reply', 'within-lookback', 'default-skill']),
    campaignId: z.string().nullable(),
    messageId: z.string().nullable(),
    /** The first proactive message, sealed, with when it was sent; null for a plain inbound conversation. */
    firstMessage: z.object({ sealed: z.string(), sentAt: z.string(), campaignName: z.string() }).nullable(),
    /** The consumer's number, sealed with their key, so the inbox can show it and agents can answer. */
    sealedPhone: z.string().optional(),
  }),
  ConsumerMessageReceived: z.object({
    accountId: z.string(),
    conversationId: z.string(),
    providerMessageId: z.string(),
    /** The text (and for a WhatsApp quick-reply tap, the button's payload), sealed with the consumer's key. */
    sealed: z.string(),
    receivedAt: z.string(),
    /** The channel it came on, where that is not the conversation's own (absent: the conversation's). */
    channel: channel.optional(),
  }),
  AgentMessageSent: z.object({
    accountId: z.string(),
    conversationId: z.string(),
    agentId: z.string(),
    providerMessageId: z.string(),
    sealed: z.string(),
    sentAt: z.string(),
  }),
  ConversationTransferred: z.object({
    accountId: z.string(),
    conversationId: z.string(),
    fromSkillId: z.string().nullable(),
    toSkillId: z.string(),
    by: z.string(),
  }),
  ConversationClosed: z.object({
    accountId: z.string(),
    conversationId: z.string(),
    by: z.string(),
    reason: z.enum(['agent', 'idle-timeout', 'consumer-opted-out', 'consumer-erased']),
    closedAt: z.string(),
  }),
};
export type ConversationEvent = EventsOf<typeof ConversationEvents>;
type Opened = z.infer<typeof ConversationEvents.ConversationOpened>;

export type ConversationCommand =
  | ({ type: 'OpenConversation' } & Opened)
  | {
      type: 'ReceiveConsumerMessage';
      accountId: string;
      conversationId: string;
      providerMessageId: string;
      sealed: string;
      channel?: Opened['channel'];
      now: string;
    }
  | {
      type: 'SendAgentMessage';
      accountId: string;
      conversationId: string;
      agentId: string;
      providerMessageId: string;
      sealed: string;
      now: string;
    }
  | { type: 'TransferConversation'; accountId: string; conversationId: string; toSkillId: string; by: string }
  | {
      type: 'CloseConversation';
      accountId: string;
      conversationId: string;
      by: string;
      reason: 'agent' | 'idle-timeout' | 'consumer-opted-out' | 'consumer-erased';
      now: string;
    };

export interface Conversation {
  status: 'none' | 'open' | 'closed';
  accountId: string;
  consumerRef: string;
  channel: Opened['channel'] | null;
  senderId: string | null;
  skillId: string | null;
  lastActivityAt: string | null;
  /** When the consumer last wrote: WhatsApp's customer-service window runs from it. */
  lastConsumerMessageAt: string | null;
  /** Provider ids already recorded, so a redelivered webhook adds nothing. */
  seenProviderIds: string[];
}

export const initialState = (): Conversation => ({
  status: 'none',
  accountId: '',
  consumerRef: '',
  channel: null,
  senderId: null,
  skillId: null,
  lastActivityAt: null,
  lastConsumerMessageAt: null,
  seenProviderIds: [],
});

function requireOpen(state: Conversation, accountId: string): void {
  if (state.status === 'none' || state.accountId !== accountId) {
    throw new DomainError('CONVERSATION_NOT_FOUND', 'No such conversation.');
  }
  if (state.status === 'closed') throw new DomainError('CONVERSATION_CLOSED', 'This conversation is closed.');
}

export const decide = (command: ConversationCommand, state: Conversation): ConversationEvent[] => {
  const { accountId, conversationId } = command;
  switch (command.type) {
    case 'OpenConversation': {
      if (state.status !== 'none') throw new DomainError('CONVERSATION_EXISTS', 'That conversation id is taken.');
      const { type: _type, ...data } = command;
      return [{ type: 'ConversationOpened', data }];
    }
    case 'ReceiveConsumerMessage':
      requireOpen(state, accountId);
      if (state.seenProviderIds.includes(command.providerMessageId)) return [];
      return [
        {
          type: 'ConsumerMessageReceived',
          data: {
            accountId,
            conversationId,
            providerMessageId: command.providerMessageId,
            sealed: command.sealed,
            receivedAt: command.now,
            ...(command.channel && command.channel !== state.channel ? { channel: command.channel } : {}),
          },
        },
      ];
    case 'SendAgentMessage': {
      requireOpen(state, accountId);
      const window = agentReplyWindow(state, new Date(command.now));
      if (!window.open) throw new DomainError('WHATSAPP_WINDOW_CLOSED', window.reason, 'text');
      return [
        {
          type: 'AgentMessageSent',
          data: {
            accountId,
            conversationId,
            agentId: command.agentId,
            providerMessageId: command.providerMessageId,
            sealed: command.sealed,
            sentAt: command.now,
          },
        },
      ];
    }
    case 'TransferConversation':
      requireOpen(state, accountId);
      if (state.skillId === command.toSkillId) return [];
      return [
        {
          type: 'ConversationTransferred',
          data: { accountId, conversationId, fromSkillId: state.skillId, toSkillId: command.toSkillId, by: command.by },
        },
      ];
    case 'CloseConversation':
      if (state.status === 'closed' && state.accountId === accountId) return [];
      requireOpen(state, accountId);
      return [
        {
          type: 'ConversationClosed',
          data: { accountId, conversationId, by: command.by, reason: command.reason, closedAt: command.now },
        },
      ];
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Conversation, event: ConversationEvent): Conversation => {
  switch (event.type) {
    case 'ConversationOpened':
      return {
        ...state,
        status: 'open',
        accountId: event.data.accountId,
        consumerRef: event.data.consumerRef,
        channel: event.data.channel,
        senderId: event.data.senderId,
        skillId: event.data.skillId,
        lastActivityAt: event.data.firstMessage?.sentAt ?? null,
      };
    case 'ConsumerMessageReceived':
      return {
        ...state,
        lastActivityAt: event.data.receivedAt,
        lastConsumerMessageAt: event.data.receivedAt,
        seenProviderIds: [...state.seenProviderIds, event.data.providerMessageId],
      };
    case 'AgentMessageSent':
      return { ...state, lastActivityAt: event.data.sentAt };
    case 'ConversationTransferred':
      return { ...state, skillId: event.data.toSkillId };
    case 'ConversationClosed':
      return { ...state, status: 'closed' };
    default:
      return assertNever(event);
  }
};

/** WhatsApp's customer-service window: free text may answer a consumer only this long after they last wrote. */
export const WHATSAPP_SERVICE_WINDOW_MS = 24 * 3_600_000;

export type AgentReplyWindow = { open: true; closesAt: Date | null } | { open: false; closedAt: Date; reason: string };

/**
 * Whether an agent's free-text reply may go out now. SMS and In-App replies always may (closesAt null); a WhatsApp
 * reply only while the consumer wrote within the last 24 hours (WhatsApp's customer-service window; after it
 * only an approved template may start a conversation again). The window ends exactly 24 hours after the
 * consumer's last message: a reply at that instant is outside.
 */
export function agentReplyWindow(
  conversation: Pick<Conversation, 'channel' | 'lastConsumerMessageAt'>,
  now: Date,
): AgentReplyWindow {
  if (conversation.channel !== 'whatsapp') return { open: true, closesAt: null };
  const last = conversation.lastConsumerMessageAt ? Date.parse(conversation.lastConsumerMessageAt) : Number.NaN;
  if (Number.isNaN(last)) {
    return {
      open: false,
      closedAt: now,
      reason:
        'WhatsApp lets a business write free text only within 24 hours of the consumer’s last message, and the consumer has not written yet.',
    };
  }
  const closesAt = new Date(last + WHATSAPP_SERVICE_WINDOW_MS);
  if (now.getTime() < closesAt.getTime()) return { open: true, closesAt };
  return {
    open: false,
    closedAt: closesAt,
    reason: `WhatsApp’s 24-hour window closed at ${closesAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, 24 hours after the consumer’s last message. A free-text reply cannot be sent until the consumer writes again; only an approved template (a new campaign) can reach them now.`,
  };
}

export interface RoutingInput {
  now: Date;
  defaultSkillId: string | null;
  /** The latest proactive message sent to this consumer by this account, if any. */
  latestProactive: {
    campaignId: string;
    messageId: string;
    skillId: string | null;
    sentAt: Date;
    lookbackHours: number;
    routeAllWithinLookback: boolean;
    /** A conversation already came from this message (its first reply was seen). */
    responded: boolean;
  } | null;
}

export type RoutingDecision =
  | { routing: 'first-reply'; skillId: string | null; campaignId: string; messageId: string }
  | { routing: 'within-lookback'; skillId: string | null; campaignId: string; messageId: string }
  | { routing: 'default-skill'; skillId: string | null; campaignId: string | null; messageId: string | null };

/**
 * F8: where a reply that finds no open conversation goes. The lookback runs from the message's send time and
 * ends exactly at sentAt + lookback (a reply at that instant is outside).
 */
export function routeReply(input: RoutingInput): RoutingDecision {
  const latest = input.latestProactive;
  if (latest) {
    const expires = latest.sentAt.getTime() + latest.lookbackHours * 3_600_000;
    if (input.now.getTime() < expires) {
      if (!latest.responded) {
        return {
          routing: 'first-reply',
          skillId: latest.skillId ?? input.defaultSkillId,
          campaignId: latest.campaignId,
          messageId: latest.messageId,
        };
      }
      if (latest.routeAllWithinLookback) {
        return {
          routing: 'within-lookback',
          skillId: latest.skillId ?? input.defaultSkillId,
          campaignId: latest.campaignId,
          messageId: latest.messageId,
        };
      }
      return {
        routing: 'default-skill',
        skillId: input.defaultSkillId,
        campaignId: latest.campaignId,
        messageId: latest.messageId,
      };
    }
  }
  return { routing: 'default-skill', skillId: input.defaultSkillId, campaignId: null, messageId: null };
}
