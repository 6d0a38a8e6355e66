import * as consumer from '../domain/consumer.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { closeConversation } from './conversations.ts';
import { type CommandContext, handleCommand } from './handler.ts';

/**
 * A consumer's opt-out and opt-in (F12), wherever they come from: a keyword the consumer sent, or the carrier
 * telling us the consumer is opted out already (Twilio 21610). An opt-out applies to every sender of the account.
 */

export interface ConsumerDeps {
  store: EventStore;
  db: Db;
  log: Logger;
}

type Via = 'keyword' | 'provider-21610' | 'api';

/** STOP and its kin: opted out of every sender; an open conversation closes, so nobody answers into a STOP. */
export async function optOut(
  deps: ConsumerDeps,
  input: { accountId: string; consumerRef: string; keyword: string | null; channel: string; via: Via },
  context: CommandContext,
): Promise<void> {
  const { state } = await recordConsent(deps, { ...input, type: 'OptOut' }, context);
  if (state.openConversationId) {
    try {
      await closeConversation(
        deps,
        {
          accountId: input.accountId,
          conversationId: state.openConversationId,
          by: 'consumer',
          reason: 'consumer-opted-out',
        },
        context,
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      deps.log.info({ code: error.code }, 'the opted-out consumer’s conversation was not closed');
    }
  }
}

/** START and its kin: the consumer receives campaigns again. */
export async function optIn(
  deps: ConsumerDeps,
  input: { accountId: string; consumerRef: string; keyword: string | null; channel: string; via: Via },
  context: CommandContext,
): Promise<void> {
  await recordConsent(deps, { ...input, type: 'OptIn' }, context);
}

/**
 * Twilio's 21610 means the carrier already has this consumer opted out: recorded, so later campaigns skip them.
 * A consumer erased meanwhile keeps nothing; that is said in the log, not thrown at the send that learnt it.
 */
export async function recordCarrierOptOut(
  deps: ConsumerDeps,
  input: { accountId: string; consumerRef: string; channel: string },
  context: CommandContext,
): Promise<void> {
  try {
    await optOut(deps, { ...input, keyword: null, via: 'provider-21610' }, context);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    deps.log.info({ code: error.code, accountId: input.accountId }, 'the carrier’s opt-out was not recorded');
  }
}

async function recordConsent(
  deps: ConsumerDeps,
  command: Extract<consumer.ConsumerCommand, { type: 'OptOut' | 'OptIn' }>,
  context: CommandContext,
) {
  const stream = consumer.consumerStream(command.accountId, command.consumerRef);
  return handleCommand(deps.store, stream, consumer, command, context);
}
