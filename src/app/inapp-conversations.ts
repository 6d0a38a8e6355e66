import { randomUUID } from 'node:crypto';
import * as conversation from '../domain/conversation.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { type CommandContext, handleCommand } from './handler.ts';

interface AgentMessage {
  accountId: string;
  conversationId: string;
  agentId: string;
  consumerRef: string;
  text: string;
  /** The provider's id of the message sent, or our own where nothing is sent through a provider. */
  providerMessageId: string;
  /** When it was sent (absent: now). */
  now?: Date;
}

/** Records an agent's message in its conversation, the text sealed with the consumer's key. */
export async function recordAgentMessage(
  deps: { store: EventStore; personalData: PersonalData },
  input: AgentMessage,
  context: CommandContext,
) {
  return handleCommand(
    deps.store,
    conversation.conversationStream(input.conversationId),
    conversation,
    {
      type: 'SendAgentMessage',
      accountId: input.accountId,
      conversationId: input.conversationId,
      agentId: input.agentId,
      providerMessageId: input.providerMessageId,
      sealed: await deps.personalData.sealFor(input.accountId, input.consumerRef, { text: input.text }),
      now: (input.now ?? new Date()).toISOString(),
    },
    context,
  );
}

/**
 * An agent's answer in an In-App conversation (F6): nothing is pushed through a provider; the consumer reads it in
 * the in-app messaging window, which shows the conversation's thread.
 */
export function recordInAppAgentReply(
  deps: { store: EventStore; personalData: PersonalData },
  input: Omit<AgentMessage, 'providerMessageId'>,
  context: CommandContext,
) {
  return recordAgentMessage(deps, { ...input, providerMessageId: `inapp-${randomUUID()}` }, context);
}
