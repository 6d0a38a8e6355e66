import type { Channel } from './account-settings.ts';
import type { Campaign } from './campaign.ts';
import { renderSms, withOptOut } from './sms.ts';
import { fillVariables } from './template-content.ts';

/**
 * How a proactive message reached its consumer, for routing their reply (F8) and opening the conversation's
 * transcript with it (F18): a reply on WhatsApp belongs to the message's WhatsApp send, one by SMS to its SMS
 * send; a prioritized message (F7) may have both, its WhatsApp leg and then the SMS it fell back to.
 */

export interface SentLeg {
  channel: Channel;
  sentAt: string;
}

/** Each send of a message stream with the channel it went on, in order. */
export function sentLegs(events: readonly { type: string; data: unknown }[]): SentLeg[] {
  const legs: SentLeg[] = [];
  let channel: Channel | null = null;
  for (const event of events) {
    const data = event.data as { channel?: Channel; to?: Channel; sentAt?: string };
    if (event.type === 'MessageQueued') channel = data.channel ?? null;
    else if (event.type === 'MessageFellBack') channel = data.to ?? channel;
    else if (event.type === 'MessageSent' && channel && data.sentAt) legs.push({ channel, sentAt: data.sentAt });
  }
  return legs;
}

/** The latest send of the message on `channel`, or null when it never went out there. */
export function latestLegOn(events: readonly { type: string; data: unknown }[], channel: Channel): SentLeg | null {
  return (
    sentLegs(events)
      .filter((leg) => leg.channel === channel)
      .at(-1) ?? null
  );
}

type Draft = NonNullable<Campaign['draft']>;

/**
 * The text the consumer read on that channel: a WhatsApp template's body with the recipient's values; the SMS a
 * prioritized message fell back to; else the campaign's text, with the opt-out line it carried.
 */
export function proactiveText(draft: Draft, channel: Channel, variables: Record<string, string>): string {
  if (channel === 'whatsapp') return fillVariables(draft.text, variables);
  const sms = draft.whatsapp?.fallback ?? draft;
  const rendered = renderSms(sms.text, variables);
  return withOptOut(rendered.ok ? rendered.text : sms.text, sms.optOutText);
}
