import { randomUUID } from 'node:crypto';
import { type ChannelProviders, ChannelSendError } from '../channels/port.ts';
import * as account from '../domain/account.ts';
import { type Channel, DEFAULT_CONVERSATION_IDLE_MINUTES } from '../domain/account-settings.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import * as message from '../domain/message.ts';
import { type EventStore, WrongExpectedVersionError } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { firstMessageOf, latestProactive } from './conversation-origin.ts';
import { type CommandContext, foldStream, handleCommand, writeStream } from './handler.ts';
import { recordAgentMessage, recordInAppAgentReply } from './inapp-conversations.ts';

export interface ConversationDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  personalData: PersonalData;
  providers: ChannelProviders;
}

export interface InboundMessage {
  accountId: string;
  consumerRef: string;
  phone: string;
  senderId: string | null;
  channel?: Channel;
  /** The text; for a WhatsApp quick-reply tap, the button's text. */
  body: string;
  /** A WhatsApp quick-reply tap: the button's payload (its id), kept sealed beside the text. */
  buttonPayload?: string;
  providerMessageId: string;
  now: Date;
}

export type RouteOutcome = {
  conversationId: string;
  routing: conversation.RoutingDecision['routing'] | 'open-conversation';
  opened: boolean;
};

const ROUTER = { actor: 'system:conversation-router' };

/**
 * F8/F18: a consumer's reply that is not a keyword. It joins the consumer's open conversation; otherwise the
 * latest proactive message within its lookback decides the skill (first reply → the campaign's skill and
 * MessageResponded; later replies → the campaign's skill if routeAllWithinLookback, else the default skill);
 * with nothing in lookback it opens a plain inbound conversation on the default skill. The consumer stream is
 * the lock: two replies at once open one conversation.
 */
export async function routeInbound(deps: ConversationDeps, input: InboundMessage): Promise<RouteOutcome> {
  const { accountId, consumerRef } = input;
  const consumerStreamId = consumer.consumerStream(accountId, consumerRef);
  const channel = input.channel ?? 'sms';
  const sealedBody = await deps.personalData.sealFor(accountId, consumerRef, {
    text: input.body,
    ...(input.buttonPayload ? { buttonPayload: input.buttonPayload } : {}),
  });
  const now = input.now.toISOString();
  for (let attempt = 0; attempt < 3; attempt++) {
    const consumerState = foldStream(consumer, await deps.store.read(consumerStreamId));
    const openId = consumerState.openConversationId;
    if (openId) {
      const existing = foldStream(conversation, await deps.store.read(conversation.conversationStream(openId)));
      if (existing.status === 'open') {
        await handleCommand(
          deps.store,
          conversation.conversationStream(openId),
          conversation,
          {
            type: 'ReceiveConsumerMessage',
            accountId,
            conversationId: openId,
            providerMessageId: input.providerMessageId,
            sealed: sealedBody,
            channel,
            now,
          },
          ROUTER,
        );
        return { conversationId: openId, routing: 'open-conversation', opened: false };
      }
      if (existing.status === 'closed') {
        // Closed but not yet unlinked (a crash between the two): finish the unlink, then route afresh.
        await handleCommand(
          deps.store,
          consumerStreamId,
          consumer,
          { type: 'UnlinkConversation', accountId, consumerRef, conversationId: openId },
          ROUTER,
        );
        continue;
      }
    }
    const accountState = foldStream(account, await deps.store.read(account.accountStream(accountId)));
    const latest = await latestProactive(deps, accountId, consumerRef, channel);
    const decision = conversation.routeReply({
      now: input.now,
      defaultSkillId: accountState.settings.defaultSkillId,
      latestProactive: latest,
    });
    // Linked but never opened (a crash between the two) reuses the id; otherwise a new one.
    const conversationId = openId ?? randomUUID().replace(/-/g, '');
    try {
      await handleCommand(
        deps.store,
        consumerStreamId,
        consumer,
        { type: 'LinkConversation', accountId, consumerRef, conversationId },
        ROUTER,
      );
    } catch (error) {
      if (error instanceof DomainError && error.code === 'CONVERSATION_ALREADY_OPEN') continue;
      throw error;
    }
    const firstMessage =
      latest && decision.campaignId === latest.campaignId
        ? await firstMessageOf(deps, accountId, consumerRef, latest)
        : null;
    const open: conversation.ConversationCommand = {
      type: 'OpenConversation',
      accountId,
      conversationId,
      consumerRef,
      channel,
      senderId: input.senderId ?? latest?.draft.senderId ?? null,
      skillId: decision.skillId,
      routing: decision.routing,
      campaignId: decision.campaignId,
      messageId: decision.messageId,
      firstMessage,
      sealedPhone: await deps.personalData.sealFor(accountId, consumerRef, { phone: input.phone }),
    };
    const receive: conversation.ConversationCommand = {
      type: 'ReceiveConsumerMessage',
      accountId,
      conversationId,
      providerMessageId: input.providerMessageId,
      sealed: sealedBody,
      now,
    };
    try {
      // Opened and first message in one append, on a stream that must not exist yet.
      await writeStream(
        deps.store,
        conversation.conversationStream(conversationId),
        conversation,
        (state) => {
          const opened = conversation.decide(open, state);
          return [...opened, ...conversation.decide(receive, opened.reduce(conversation.evolve, state))];
        },
        ROUTER,
        { attempts: 1, known: { state: conversation.initialState(), revision: -1 } },
      );
    } catch (error) {
      // Opened meanwhile by a concurrent reply that found the same link: join it.
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      continue;
    }
    if (decision.routing === 'first-reply' && decision.messageId && decision.campaignId) {
      await handleCommand(
        deps.store,
        message.messageStream(decision.messageId),
        message,
        {
          type: 'RecordResponse',
          accountId,
          campaignId: decision.campaignId,
          messageId: decision.messageId,
          conversationId,
          now,
        },
        ROUTER,
      );
    }
    return { conversationId, routing: decision.routing, opened: true };
  }
  throw new DomainError('CONVERSATION_BUSY', 'The consumer’s conversation changed repeatedly; try again.');
}

async function loadOpen(deps: Pick<ConversationDeps, 'store'>, accountId: string, conversationId: string) {
  if (!/^[0-9a-f]{32}$/.test(conversationId)) {
    throw new DomainError('CONVERSATION_NOT_FOUND', 'No such conversation.');
  }
  const events = await deps.store.read(conversation.conversationStream(conversationId));
  const state = foldStream(conversation, events);
  if (state.status === 'none' || state.accountId !== accountId) {
    throw new DomainError('CONVERSATION_NOT_FOUND', 'No such conversation.');
  }
  const opened = events[0]!.data as { sealedPhone?: string };
  return { state, sealedPhone: opened.sealedPhone ?? null };
}

/**
 * An agent's answer, sent on the conversation's channel and sender through the channel provider. On WhatsApp it
 * is free text, so it goes only within 24 hours of the consumer's last message (conversation.agentReplyWindow);
 * outside, it is refused with the reason and nothing is sent.
 */
export async function sendAgentReply(
  deps: ConversationDeps,
  input: { accountId: string; conversationId: string; agentId: string; text: string; now?: Date },
  context: CommandContext,
) {
  const text = input.text.trim();
  if (!text) throw new DomainError('EMPTY_MESSAGE', 'Write a reply before sending.', 'text');
  if (text.length > conversation.MAX_AGENT_MESSAGE_LENGTH) {
    throw new DomainError(
      'MESSAGE_TOO_LONG',
      `A reply is at most ${conversation.MAX_AGENT_MESSAGE_LENGTH} characters (this one is ${text.length}).`,
      'text',
    );
  }
  const now = input.now ?? new Date();
  const { state, sealedPhone } = await loadOpen(deps, input.accountId, input.conversationId);
  if (state.status === 'closed') throw new DomainError('CONVERSATION_CLOSED', 'This conversation is closed.');
  const window = conversation.agentReplyWindow(state, now);
  if (!window.open) throw new DomainError('WHATSAPP_WINDOW_CLOSED', window.reason, 'text');
  const reply = { ...input, consumerRef: state.consumerRef, text, now };
  if (state.channel === 'inapp') return recordInAppAgentReply(deps, reply, context);
  if (!sealedPhone) throw new DomainError('NO_ADDRESS', 'This conversation has no number to answer.');
  const accountState = foldStream(account, await deps.store.read(account.accountStream(input.accountId)));
  const sender = state.senderId ? accountState.settings.senders[state.senderId] : undefined;
  if (!sender) {
    throw new DomainError('SENDER_REMOVED', 'The number this conversation uses was removed from the account.');
  }
  const { phone } = await deps.personalData.openFor<{ phone: string }>(input.accountId, state.consumerRef, sealedPhone);
  const channel = state.channel ?? 'sms';
  const provider = deps.providers[channel];
  if (!provider) throw new DomainError('CHANNEL_UNAVAILABLE', `No provider sends on ${channel} here.`);
  let sent: { providerMessageId: string };
  try {
    sent = await provider.send({ from: sender.address, to: phone, body: text });
  } catch (error) {
    if (!(error instanceof ChannelSendError)) throw error;
    const { kind, code, message } = error.failure;
    throw new DomainError(
      'REPLY_NOT_SENT',
      kind === 'ambiguous'
        ? `The provider did not answer in time (${code}); the reply may still arrive. Wait before sending it again.`
        : `The reply was not sent (${code}: ${message}).${kind === 'retryable' ? ' Try again in a moment.' : ''}`,
      'text',
    );
  }
  return recordAgentMessage(deps, { ...reply, providerMessageId: sent.providerMessageId }, context);
}

type CloseReason = 'agent' | 'idle-timeout' | 'consumer-opted-out';
/** Closes the conversation, then frees the consumer for new campaigns and conversations. */
export async function closeConversation(
  deps: Pick<ConversationDeps, 'store'>,
  input: { accountId: string; conversationId: string; by: string; reason: CloseReason },
  context: CommandContext,
) {
  const { state } = await loadOpen(deps, input.accountId, input.conversationId);
  const result = await handleCommand(
    deps.store,
    conversation.conversationStream(input.conversationId),
    conversation,
    { type: 'CloseConversation', ...input, now: new Date().toISOString() },
    context,
  );
  await handleCommand(
    deps.store,
    consumer.consumerStream(input.accountId, state.consumerRef),
    consumer,
    {
      type: 'UnlinkConversation',
      accountId: input.accountId,
      consumerRef: state.consumerRef,
      conversationId: input.conversationId,
    },
    context,
  );
  return result;
}

export async function transferConversation(
  deps: Pick<ConversationDeps, 'store'>,
  input: { accountId: string; conversationId: string; toSkillId: string; by: string },
  context: CommandContext,
) {
  const accountState = foldStream(account, await deps.store.read(account.accountStream(input.accountId)));
  if (!accountState.settings.skills[input.toSkillId]) {
    throw new DomainError('UNKNOWN_SKILL', 'That skill is not a skill of this account.', 'skill');
  }
  await loadOpen(deps, input.accountId, input.conversationId);
  return handleCommand(
    deps.store,
    conversation.conversationStream(input.conversationId),
    conversation,
    { type: 'TransferConversation', ...input },
    context,
  );
}

/**
 * Closes the conversations idle longer than their account's timeout (default a day). The read model finds the
 * candidates; each one's own stream confirms it is still idle, so a message that just arrived keeps it open.
 */
export async function closeIdleConversations(
  deps: Pick<ConversationDeps, 'store' | 'db' | 'log'>,
  now: Date = new Date(),
): Promise<number> {
  const candidates = await deps
    .db('conversations as c')
    .leftJoin('conversation_settings as s', 's.account_id', 'c.account_id')
    .where('c.status', 'open')
    .andWhereRaw('c.last_activity_at < ?::timestamptz - make_interval(mins => coalesce(s.idle_timeout_minutes, ?))', [
      now.toISOString(),
      DEFAULT_CONVERSATION_IDLE_MINUTES,
    ])
    .orderBy('c.last_activity_at')
    .limit(500)
    .select<{ account_id: string; conversation_id: string; idle_timeout_minutes: number | null }[]>(
      'c.account_id',
      'c.conversation_id',
      's.idle_timeout_minutes',
    );
  let closed = 0;
  for (const candidate of candidates) {
    const state = foldStream(
      conversation,
      await deps.store.read(conversation.conversationStream(candidate.conversation_id)),
    );
    const minutes = candidate.idle_timeout_minutes ?? DEFAULT_CONVERSATION_IDLE_MINUTES;
    const cutoff = now.getTime() - minutes * 60_000;
    if (state.status !== 'open' || (state.lastActivityAt && Date.parse(state.lastActivityAt) >= cutoff)) continue;
    try {
      await closeConversation(
        deps,
        {
          accountId: candidate.account_id,
          conversationId: candidate.conversation_id,
          by: 'system:idle-timeout',
          reason: 'idle-timeout',
        },
        { actor: 'system:idle-timeout' },
      );
      closed += 1;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      deps.log.warn({ err: error, conversationId: candidate.conversation_id }, 'idle conversation not closed');
    }
  }
  return closed;
}
