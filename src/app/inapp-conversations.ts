import { randomUUID } from 'node:crypto';
import * as conversation from '../domain/conversation.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { type CommandContext, handleCommand } from './handler.ts';

/**
 * An agent's answer in an In-App conversation (F6): nothing is pushed through a provider; the consumer reads it in
 * the in-app messaging window, which shows the conversation's thread.
 */
export async function recordInAppAgentReply(
  deps: { store: EventStore; personalData: PersonalData },
  input: { accountId: string; conversationId: string; agentId: string },
  consumerRef: string,
  text: string,
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
      providerMessageId: `inapp-${randomUUID()}`,
      sealed: await deps.personalData.sealFor(input.accountId, consumerRef, { text }),
      now: new Date().toISOString(),
    },
    context,
  );
}
