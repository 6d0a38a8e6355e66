import type { Account } from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import { type HandoffConfig, isWhatsAppChannel } from '../domain/handoff.ts';
import { isRich } from '../domain/template-content.ts';
import type { EventStore } from '../eventstore/port.ts';
import { loadTemplate } from './templates.ts';

type Channel = HandoffConfig['channels'][number];

/** A handoff's WhatsApp channel, and the SMS channel after it when the handoff is the prioritized channel. */
export function whatsappChannelOf(config: HandoffConfig): { whatsapp: Channel; sms: Channel | null } | null {
  const whatsapp = config.channels.find((channel) => isWhatsAppChannel(channel.type));
  if (!whatsapp) return null;
  return { whatsapp, sms: config.channels.find((channel) => channel.type === 'sms-twilio') ?? null };
}

/**
 * The template a WhatsApp channel names, usable now: this account's, approved (a paused, rejected or pending one
 * is refused with TEMPLATE_NOT_APPROVED naming it), and plain text when SMS may carry the message instead.
 */
export async function usableTemplate(
  deps: { store: EventStore },
  accountId: string,
  templateId: string | undefined,
  options: { prioritized: boolean; field: string },
) {
  if (!templateId) throw new DomainError('FIELD_REQUIRED', 'The WhatsApp channel needs a templateId.', options.field);
  const template = await loadTemplate(deps, accountId, templateId);
  if (!template) {
    throw new DomainError(
      'WHATSAPP_TEMPLATE_NOT_FOUND',
      `${templateId} is not a WhatsApp template of this account.`,
      options.field,
    );
  }
  const name = template.content!.name;
  if (template.status !== 'approved') {
    const reason = template.rejectionReason ? ` (${template.rejectionReason})` : '';
    throw new DomainError(
      'TEMPLATE_NOT_APPROVED',
      `The WhatsApp template ${name} is ${template.status}${reason}: only an approved template can be used.`,
      options.field,
    );
  }
  if (options.prioritized && isRich(template.content!)) {
    throw new DomainError(
      'RICH_TEMPLATE_NOT_PRIORITIZED',
      `The WhatsApp template ${name} is rich (media or buttons): the prioritized channel may send SMS instead, so it takes plain-text templates only.`,
      options.field,
    );
  }
  return { ...template, id: templateId, content: template.content! };
}

/** The checks of a handoff's WhatsApp channel against the account: a WhatsApp sender, an approved template. */
export async function checkWhatsAppChannel(deps: { store: EventStore }, state: Account, config: HandoffConfig) {
  const found = whatsappChannelOf(config);
  if (!found) return;
  const index = config.channels.indexOf(found.whatsapp);
  if (found.sms && config.channels.indexOf(found.sms) < index) {
    throw new DomainError(
      'INVALID_FIELD',
      'On the prioritized channel WhatsApp comes first and SMS is its fallback: list wa before sms-twilio.',
      'channels',
    );
  }
  const number = found.whatsapp.outboundnumber;
  if (!number) {
    throw new DomainError(
      'FIELD_REQUIRED',
      'The WhatsApp channel needs an outboundnumber.',
      `channels.${index}.outboundnumber`,
    );
  }
  const wanted = number.replace(/^whatsapp:/, '').replace(/^\+?/, '+');
  const senders = Object.values(state.settings.senders).filter((sender) => sender.channel === 'whatsapp');
  if (!senders.some((sender) => sender.address === wanted)) {
    throw new DomainError(
      'UNKNOWN_SENDER',
      `${number} is not a WhatsApp sender of this account.`,
      `channels.${index}.outboundnumber`,
    );
  }
  await usableTemplate(deps, state.accountId, found.whatsapp.templateId, {
    prioritized: found.sms !== null,
    field: `channels.${index}.templateId`,
  });
}
