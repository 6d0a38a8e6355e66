import type { MessageEvent } from './message-events.ts';

/**
 * The prioritized channel on a message (F7): WhatsApp first; when WhatsApp refuses the number for good (63003: not
 * on WhatsApp) or its delivery receipt does not come in time, MessageFellBack puts the message back in the queue
 * as an SMS from the fallback sender, through every check an SMS passes. A WhatsApp receipt that comes late is
 * never lost: before the SMS went out it cancels the SMS (the message is delivered); after, both deliveries are
 * recorded.
 */

export interface FallbackState {
  status: string;
  queued: { channel: string; fallbackSenderId?: string } | null;
  providerMessageId: string | null;
  /** The WhatsApp message id the message fell back from ('' when WhatsApp never took it); null: it did not. */
  fellBackFrom: string | null;
  /** The late WhatsApp delivery was recorded already. */
  lateReceipt: boolean;
}

type Ids = { accountId: string; campaignId: string; messageId: string };

export const fellBack = (ids: Ids, senderId: string, reason: string, at: string): MessageEvent => ({
  type: 'MessageFellBack',
  data: { ...ids, from: 'whatsapp', to: 'sms', senderId, reason, at },
});

/** A missing receipt: only a WhatsApp message sent and not yet delivered falls back. */
export function fallBackOnTimeout(state: FallbackState, ids: Ids, now: string): MessageEvent[] {
  const senderId = state.queued?.fallbackSenderId;
  if (state.queued?.channel !== 'whatsapp' || state.status !== 'sent' || !senderId) return [];
  return [fellBack(ids, senderId, 'NO_DELIVERY_RECEIPT', now)];
}

/** A status callback about the WhatsApp message this one fell back from: its first delivery, recorded once. */
export function lateWhatsAppReceipt(
  state: FallbackState,
  ids: Ids,
  command: { providerMessageId: string; status: string; now: string },
): MessageEvent[] {
  if (state.lateReceipt || (command.status !== 'delivered' && command.status !== 'read')) return [];
  return [
    { type: 'MessageDelivered', data: { ...ids, providerMessageId: command.providerMessageId, at: command.now } },
  ];
}

/** A fallback SMS attempt that failed after WhatsApp's late delivery: the message stands delivered by WhatsApp. */
export function deliveredByWhatsApp<State extends FallbackState & { leaseUntil: string | null }>(state: State): State {
  return { ...state, status: 'delivered', providerMessageId: state.fellBackFrom, leaseUntil: null };
}
