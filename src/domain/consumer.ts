import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

/**
 * A consumer of one account (`consumer-{accountId}.{ref}`): opt-outs (F12) apply to every sender of the account,
 * so they live here, where the dispatcher reads them before each send.
 */

export const consumerStream = (accountId: string, consumerRef: string) => `consumer-${accountId}.${consumerRef}`;

const OPT_OUT = ['STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'REVOKE', 'OPTOUT', 'CANCEL'];
const OPT_IN = ['START', 'YES', 'UNSTOP'];
const HELP = ['HELP', 'INFO'];

/** Twilio's keyword sets: the whole message, trimmed, in any case. "Please stop" is not a keyword. */
export function classifyKeyword(body: string): 'opt-out' | 'opt-in' | 'help' | null {
  const word = body.trim().toUpperCase();
  if (OPT_OUT.includes(word)) return 'opt-out';
  if (OPT_IN.includes(word)) return 'opt-in';
  if (HELP.includes(word)) return 'help';
  return null;
}

const base = { accountId: z.string(), consumerRef: z.string() };
const via = z.enum(['keyword', 'provider-21610', 'api']);

export const ConsumerEvents = {
  ConsumerOptedOut: z.object({ ...base, keyword: z.string().nullable(), channel: z.string(), via }),
  ConsumerOptedIn: z.object({ ...base, keyword: z.string().nullable(), channel: z.string(), via }),
  ConsumerErased: z.object({ ...base, requestedBy: z.string() }),
  /** The consumer's one open conversation (F18): the router's lock, and the dispatcher's open-conversation rule. */
  ConsumerConversationLinked: z.object({ ...base, conversationId: z.string() }),
  ConsumerConversationUnlinked: z.object({ ...base, conversationId: z.string() }),
};
export type ConsumerEvent = EventsOf<typeof ConsumerEvents>;

export type ConsumerCommand =
  | {
      type: 'OptOut';
      accountId: string;
      consumerRef: string;
      keyword: string | null;
      channel: string;
      via: z.infer<typeof via>;
    }
  | {
      type: 'OptIn';
      accountId: string;
      consumerRef: string;
      keyword: string | null;
      channel: string;
      via: z.infer<typeof via>;
    }
  | { type: 'LinkConversation'; accountId: string; consumerRef: string; conversationId: string }
  | { type: 'UnlinkConversation'; accountId: string; consumerRef: string; conversationId: string };

export interface Consumer {
  exists: boolean;
  optedOut: boolean;
  erased: boolean;
  /** The open conversation, if any; at most one at a time per consumer and account. */
  openConversationId: string | null;
}

export const initialState = (): Consumer => ({
  exists: false,
  optedOut: false,
  erased: false,
  openConversationId: null,
});

export const decide = (command: ConsumerCommand, state: Consumer): ConsumerEvent[] => {
  if (state.erased) throw new DomainError('CONSUMER_ERASED', 'This consumer was erased.');
  switch (command.type) {
    case 'OptOut': {
      const { type: _type, ...data } = command;
      return state.optedOut ? [] : [{ type: 'ConsumerOptedOut', data }];
    }
    case 'OptIn': {
      const { type: _type, ...data } = command;
      return state.optedOut ? [{ type: 'ConsumerOptedIn', data }] : [];
    }
    case 'LinkConversation': {
      const { type: _type, ...data } = command;
      if (state.openConversationId === command.conversationId) return [];
      if (state.openConversationId) {
        throw new DomainError('CONVERSATION_ALREADY_OPEN', 'The consumer already has an open conversation.');
      }
      return [{ type: 'ConsumerConversationLinked', data }];
    }
    case 'UnlinkConversation': {
      const { type: _type, ...data } = command;
      if (state.openConversationId !== command.conversationId) return [];
      return [{ type: 'ConsumerConversationUnlinked', data }];
    }
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Consumer, event: ConsumerEvent): Consumer => {
  switch (event.type) {
    case 'ConsumerOptedOut':
      return { ...state, exists: true, optedOut: true };
    case 'ConsumerOptedIn':
      return { ...state, exists: true, optedOut: false };
    case 'ConsumerErased':
      return { ...state, erased: true };
    case 'ConsumerConversationLinked':
      return { ...state, exists: true, openConversationId: event.data.conversationId };
    case 'ConsumerConversationUnlinked':
      return { ...state, openConversationId: null };
    default:
      return assertNever(event);
  }
};
