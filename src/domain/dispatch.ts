import { type Account, missingBotUsers } from './account.ts';
import { type Channel, DEFAULT_ACCOUNT_SEND_RATE } from './account-settings.ts';
import type { Campaign } from './campaign.ts';
import type { Consumer } from './consumer.ts';
import type { Conversation } from './conversation.ts';
import type { InAppApps } from './inapp.ts';
import { decideInAppDispatch } from './inapp-dispatch.ts';
import type { PushContent } from './inapp-message.ts';
import { type Message, type SkipReason, waiting } from './message.ts';
import { DEFAULT_SMS_WINDOW, nextOpening } from './receiving-window.ts';
import { renderSms, withOptOut } from './sms.ts';
import type { Template } from './template.ts';
import { decideWhatsAppStart } from './whatsapp-dispatch.ts';

/**
 * What the dispatcher does with one claimed message (DESIGN §4.3), decided from facts alone: no I/O, no clock.
 * The dispatcher loads the facts from the event store, asks `decideDispatch`, and carries the decision out.
 */

export const DAILY_CAP = 100_000;

export interface Recipient {
  /** The number (SMS, WhatsApp); absent for In-App, whose recipient is the brand's consumer id. */
  phone?: string;
  variables: Record<string, string>;
  consumerId?: string;
}

export interface DispatchFacts {
  /** The account the message was claimed for. */
  accountId: string;
  message: Message;
  campaign: Campaign;
  account: Account;
  consumer: Consumer;
  /** The consumer's linked conversation as its own stream says; null when none is linked. */
  openConversation: Conversation | null;
  /** The number and variables opened with the consumer's key; null once the key is erased. */
  recipient: Recipient | null;
  /** The time zones of the recipient's number; null when the number tells none. */
  zones: string[] | null;
  now: Date;
  /**
   * A unit of the account's daily allowance is held for this message. Only first attempts need one
   * (`needsDailyAllowance`); the dispatcher gives it back unless the decision is `start`.
   */
  withinDailyCap: boolean;
  dailyCap: number;
  /** The account checks line types (B4) and Lookup says this number is a landline. */
  landline: boolean;
  /** WhatsApp: the campaign's template as its stream says now (null: gone); absent for other channels. */
  template?: Template | null;
  /** In-App (F6): the account's apps; absent for the other channels. */
  inAppApps?: InAppApps | null;
}

export interface Send {
  channel: Channel;
  senderId: string;
  from: string;
  to: string;
  body: string;
  /** Messages per second of the sender and of the account's channel; 0 = no limit. */
  senderRate: number;
  channelRate: number;
  /** WhatsApp: the approved template and its values, sent instead of `body`. */
  contentSid?: string;
  contentVariables?: Record<string, string>;
  /** In-App: the push's content and provider. */
  push?: PushContent;
}

export type DispatchDecision =
  | { kind: 'skip'; reason: SkipReason; detail?: string }
  | { kind: 'defer'; until: Date; zones: string[] }
  /** A send of unknown outcome whose lease ran out: look for it at the provider. */
  | { kind: 'reconcile'; channel: Channel; from: string; to: string; since: Date }
  | { kind: 'start'; send: Send }
  /** End the message Failed without a send. */
  | { kind: 'fail'; code: string; message: string }
  /** Nothing to do now: at `until` (the lease's end, the due time), or never (`until` null: it is done). */
  | { kind: 'wait'; until: Date | null; why: 'lease-held' | 'not-due' | 'done' };

/** Only a message's first attempt counts against the daily cap; retries were counted already. */
export function needsDailyAllowance(message: Message): boolean {
  return message.attempts === 0 && waiting(message.status);
}

export function decideDispatch(facts: DispatchFacts): DispatchDecision {
  const { message, campaign, account, now } = facts;
  const queued = message.queued;
  if (!queued || message.accountId !== facts.accountId) return { kind: 'wait', until: null, why: 'done' };
  const draft = campaign.draft;
  if (!draft) return { kind: 'fail', code: 'CAMPAIGN_NOT_FOUND', message: 'The message’s campaign does not exist.' };
  const sender = account.settings.senders[queued.senderId];
  const from = sender?.address ?? draft.senderAddress;

  if (message.status === 'sending') {
    const leaseUntil = message.leaseUntil ? new Date(message.leaseUntil) : null;
    if (leaseUntil && leaseUntil > now) return { kind: 'wait', until: leaseUntil, why: 'lease-held' };
    if (!facts.recipient) {
      return {
        kind: 'fail',
        code: 'ERASED',
        message: 'The consumer was erased while a send’s outcome was unknown; it is not looked for or sent again.',
      };
    }
    return {
      kind: 'reconcile',
      channel: queued.channel,
      from,
      to: facts.recipient.phone ?? '',
      since: startedAt(message),
    };
  }
  if (!waiting(message.status)) return { kind: 'wait', until: null, why: 'done' };
  if (message.notBefore && new Date(message.notBefore) > now) {
    return { kind: 'wait', until: new Date(message.notBefore), why: 'not-due' };
  }

  // Erased means the key that sealed this recipient is gone; a number that came back since has a new one.
  if (!facts.recipient) return { kind: 'skip', reason: 'erased' };
  if (campaign.status === 'cancelled' || campaign.status === 'failed') return { kind: 'skip', reason: 'cancelled' };
  const missing = missingBotUsers(account);
  if (missing.length > 0) {
    return { kind: 'skip', reason: 'bot-users-missing', detail: `Restore ${missing.join(' and ')} to send again.` };
  }
  if (facts.consumer.optedOut) return { kind: 'skip', reason: 'opted-out' };
  // A consumer in a conversation is not interrupted; a conversation closed but not yet unlinked does not count.
  if (facts.openConversation && facts.openConversation.status !== 'closed') {
    return { kind: 'skip', reason: 'open-conversation' };
  }
  if (queued.channel === 'inapp') return decideInAppDispatch(facts, facts.inAppApps ?? null);
  if (facts.landline) return { kind: 'skip', reason: 'landline' };
  if (!sender) {
    return { kind: 'fail', code: 'SENDER_REMOVED', message: 'The campaign sender was removed from the account.' };
  }

  const window = nextOpening({
    zones: facts.zones,
    // SMS defaults to 08:00–21:00; the other channels to all day.
    window:
      draft.window ??
      account.settings.windows[queued.channel] ??
      (queued.channel === 'sms' ? DEFAULT_SMS_WINDOW : null),
    now,
    defaultZone: account.settings.defaultTimeZone,
  });
  if (!window.open) return { kind: 'defer', until: window.until, zones: window.zones };
  if (needsDailyAllowance(message) && !facts.withinDailyCap) {
    return { kind: 'skip', reason: 'daily-cap', detail: dailyCapDetail(facts.dailyCap, queued.channel) };
  }

  // A message that fell back from WhatsApp goes as the prioritized channel's SMS text.
  const sms = draft.whatsapp?.fallback ?? draft;
  const rendered = renderSms(sms.text, facts.recipient.variables);
  const send: Send = {
    channel: queued.channel,
    senderId: queued.senderId,
    from,
    to: facts.recipient.phone ?? '',
    body: withOptOut(rendered.ok ? rendered.text : sms.text, sms.optOutText),
    senderRate: sender.rate,
    channelRate: account.settings.sendRates[queued.channel] ?? DEFAULT_ACCOUNT_SEND_RATE,
  };
  return queued.channel === 'whatsapp' ? decideWhatsAppStart(facts, send) : { kind: 'start', send };
}

const CHANNEL_NAMES: Record<Channel, string> = { sms: 'SMS', whatsapp: 'WhatsApp', inapp: 'In-App' };

/** Why a message was skipped for the daily cap, which is counted per channel (F15). */
export function dailyCapDetail(cap: number, channel: Channel): string {
  return `At most ${cap} ${CHANNEL_NAMES[channel]} messages per day per account.`;
}

function startedAt(message: Message): Date {
  return new Date(message.startedAt ?? 0);
}
