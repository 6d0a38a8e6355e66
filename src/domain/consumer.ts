import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';
import { type Devices, evolveDevices, InAppDeviceEvents } from './inapp.ts';

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
/** How an opt-in or opt-out arrived: an SMS keyword, the provider's 21610 answer, the API, or the web tool. */
const via = z.enum(['keyword', 'provider-21610', 'api', 'web']);

export const ConsumerEvents = {
  ConsumerOptedOut: z.object({ ...base, keyword: z.string().nullable(), channel: z.string(), via }),
  ConsumerOptedIn: z.object({ ...base, keyword: z.string().nullable(), channel: z.string(), via }),
  /**
   * GDPR erasure (F14): the consumer's key is deleted before this is appended, so every sealed copy of their
   * number, variables and texts is unreadable; read models redact their rows on it.
   */
  ConsumerErased: z.object({
    ...base,
    requestedBy: z.string(),
    erasureId: z.string().optional(),
    requestedAt: z.string().optional(),
  }),
  /** Who exported the consumer's data (a DSAR), and when: the audit trail of every export. */
  ConsumerDataExported: z.object({ ...base, exportedBy: z.string(), exportId: z.string(), exportedAt: z.string() }),
  /** The consumer's one open conversation (F18): the router's lock, and the dispatcher's open-conversation rule. */
  ConsumerConversationLinked: z.object({ ...base, conversationId: z.string() }),
  ConsumerConversationUnlinked: z.object({ ...base, conversationId: z.string() }),
  /** F6: the brand's app on the consumer's phone (src/domain/inapp.ts). */
  ...InAppDeviceEvents,
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
  | { type: 'UnlinkConversation'; accountId: string; consumerRef: string; conversationId: string }
  | {
      type: 'Erase';
      accountId: string;
      consumerRef: string;
      requestedBy: string;
      erasureId: string;
      requestedAt: string;
    }
  | {
      type: 'RecordExport';
      accountId: string;
      consumerRef: string;
      exportedBy: string;
      exportId: string;
      exportedAt: string;
    };

export interface Consumer {
  exists: boolean;
  optedOut: boolean;
  /** Erased, and nothing recorded since: a later contact (a reply, a new campaign) starts the consumer afresh. */
  erased: boolean;
  /** The open conversation, if any; at most one at a time per consumer and account. */
  openConversationId: string | null;
  /** Registered in-app devices (F6), by device id. */
  devices: Devices;
}

export const initialState = (): Consumer => ({
  exists: false,
  optedOut: false,
  erased: false,
  openConversationId: null,
  devices: {},
});

export const decide = (command: ConsumerCommand, state: Consumer): ConsumerEvent[] => {
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
    case 'Erase': {
      // Always recorded, even twice: a consumer known only as a campaign recipient has no events of their own
      // that would tell whether new personal data arrived (under a new key) since the last erasure.
      const { type: _type, ...data } = command;
      const { accountId, consumerRef } = command;
      // The open conversation is closed by the erasure; the link goes with it, so a later reply opens a new one.
      const unlink: ConsumerEvent[] = state.openConversationId
        ? [
            {
              type: 'ConsumerConversationUnlinked',
              data: { accountId, consumerRef, conversationId: state.openConversationId },
            },
          ]
        : [];
      return [...unlink, { type: 'ConsumerErased', data }];
    }
    case 'RecordExport': {
      const { type: _type, ...data } = command;
      return [{ type: 'ConsumerDataExported', data }];
    }
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Consumer, event: ConsumerEvent): Consumer => {
  switch (event.type) {
    case 'ConsumerOptedOut':
      return { ...state, exists: true, erased: false, optedOut: true };
    case 'ConsumerOptedIn':
      return { ...state, exists: true, erased: false, optedOut: false };
    case 'ConsumerErased':
      // An opt-out outlives the erasure (it holds no personal data): an erased number that said STOP stays out.
      return { ...state, erased: true, openConversationId: null, devices: {} };
    case 'ConsumerDataExported':
      return state;
    case 'ConsumerConversationLinked':
      return { ...state, exists: true, erased: false, openConversationId: event.data.conversationId };
    case 'ConsumerConversationUnlinked':
      return { ...state, openConversationId: null };
    case 'InAppDeviceRegistered':
      return { ...state, exists: true, erased: false, devices: evolveDevices(state.devices, event) };
    case 'InAppDeviceRemoved':
      return { ...state, devices: evolveDevices(state.devices, event) };
    default:
      return assertNever(event);
  }
};
