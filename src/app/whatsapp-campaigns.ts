import * as account from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import { DEFAULT_OPT_OUT_TEXT, normalizePhone, renderSms } from '../domain/sms.ts';
import type { TemplateContent } from '../domain/template-content.ts';
import {
  DEFAULT_FALLBACK_TIMEOUT_SECONDS,
  type WhatsAppRecipientInput,
  type WhatsAppRoute,
  type WhatsAppSettings,
  whatsappValues,
} from '../domain/whatsapp.ts';
import {
  appendCampaign,
  type CampaignDeps,
  type NewCampaign,
  phoneRecipients,
  type RecipientOutcome,
  type ValidRecipient,
} from './campaigns.ts';
import { type CommandContext, foldStream } from './handler.ts';
import { usableTemplate } from './handoff-whatsapp.ts';

export interface WhatsAppRecipient extends WhatsAppRecipientInput {
  phone: unknown;
}

export interface NewWhatsAppCampaign extends NewCampaign {
  /** Outbound's template id; it must be approved. */
  templateId: string;
  /** The WhatsApp sender (an account sender of channel whatsapp). */
  senderId: string;
  /** The prioritized channel: the SMS sent when WhatsApp cannot deliver. */
  fallback?: { senderId: string; text: string; optOutText?: string; timeoutSeconds?: number } | null;
  recipients: WhatsAppRecipient[];
}

/**
 * One recipient's per-consumer checks (LivePerson's codes): the template's variables, header and button values as
 * contentVariables, and on the prioritized channel the fallback SMS filled with the same variables. The API and the
 * web wizard's preview both ask this.
 */
export function checkWhatsAppRecipient(
  content: TemplateContent,
  fallbackText: string | null,
  recipient: WhatsAppRecipientInput,
  settings: Pick<WhatsAppSettings, 'mediaHosts'>,
): { ok: true; values: Record<string, string>; sms: string | null } | { ok: false; error: string } {
  const values = whatsappValues(content, recipient, settings.mediaHosts);
  if (!values.ok) return values;
  if (fallbackText === null) return { ok: true, values: values.values, sms: null };
  const sms = renderSms(fallbackText, recipient.variables);
  return sms.ok ? { ok: true, values: values.values, sms: sms.text } : sms;
}

/**
 * A WhatsApp campaign (F5), or on the prioritized channel WhatsApp first with SMS as its fallback (F7): an
 * approved template from a WhatsApp sender; each recipient's variables, header and button values checked with
 * LivePerson's codes and sealed, ready to be sent as the template's contentVariables.
 */
export async function createWhatsAppCampaign(deps: CampaignDeps, input: NewWhatsAppCampaign, context: CommandContext) {
  const accountState = foldStream(account, await deps.store.read(account.accountStream(input.accountId)));
  if (accountState.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.');
  if (!accountState.proactiveActive) {
    throw new DomainError('PROACTIVE_NOT_ACTIVE', 'Activate Proactive for this account before sending campaigns.');
  }
  const { settings } = accountState;
  const sender = settings.senders[input.senderId];
  if (sender?.channel !== 'whatsapp') {
    throw new DomainError('UNKNOWN_SENDER', 'The sender is not a WhatsApp sender of this account.', 'outboundNumber');
  }
  const template = await usableTemplate(deps, input.accountId, input.templateId, {
    prioritized: !!input.fallback,
    field: 'templateId',
  });
  const name = input.name.trim();
  if (!name || name.length > 255) {
    throw new DomainError('INVALID_FIELD', 'campaignName must be 1 to 255 characters.', 'campaignName');
  }
  let fallback: WhatsAppRoute['fallback'] = null;
  if (input.fallback) {
    const smsSender = settings.senders[input.fallback.senderId];
    if (smsSender?.channel !== 'sms') {
      throw new DomainError(
        'UNKNOWN_SENDER',
        'The fallback sender is not an SMS sender of this account.',
        'outboundNumber',
      );
    }
    fallback = {
      senderId: input.fallback.senderId,
      senderAddress: smsSender.address,
      text: input.fallback.text,
      // LivePerson's rule: the fallback SMS carries no opt-out line unless the account turns it on.
      optOutText: settings.whatsapp.fallbackOptOut ? (input.fallback.optOutText ?? DEFAULT_OPT_OUT_TEXT) : '',
      timeoutSeconds: input.fallback.timeoutSeconds ?? DEFAULT_FALLBACK_TIMEOUT_SECONDS,
    };
  }
  if (input.recipients.length > 100_000) {
    throw new DomainError('TOO_MANY_RECIPIENTS', 'A campaign takes at most 100,000 recipients.', 'consumers');
  }

  const outcomes: RecipientOutcome[] = [];
  const valid: ValidRecipient[] = [];
  const seen = new Set<string>();
  for (const [index, recipient] of input.recipients.entries()) {
    const phone = normalizePhone(recipient.phone);
    if (!phone) {
      outcomes.push({ index, phoneNumber: null, error: 'INVALID_NUMBER' });
      continue;
    }
    const values = checkWhatsAppRecipient(template.content, fallback?.text ?? null, recipient, settings.whatsapp);
    if (!values.ok) {
      outcomes.push({ index, phoneNumber: phone, error: values.error });
      continue;
    }
    if (seen.has(phone)) {
      outcomes.push({ index, phoneNumber: phone, error: 'DUPLICATE_NUMBER' });
      continue;
    }
    seen.add(phone);
    const ref = await deps.personalData.consumerRef(input.accountId, phone);
    valid.push({ index, phone, variables: values.values, ref, segments: 1 });
  }

  return appendCampaign(
    deps,
    {
      accountId: input.accountId,
      name,
      channel: 'whatsapp',
      senderId: input.senderId,
      senderAddress: sender.address,
      skillId: input.skillId ?? null,
      text: template.content.body,
      optOutText: '',
      lookbackHours: input.lookbackHours ?? 30 * 24,
      routeAllWithinLookback: input.routeAllWithinLookback ?? false,
      source: input.source,
      handoffId: input.handoffId ?? null,
      consent: input.consent,
      ...(input.consentStatement?.trim() ? { consentStatement: input.consentStatement.trim() } : {}),
      ...(input.window ? { window: input.window } : {}),
      whatsapp: {
        templateId: template.id,
        templateName: template.content.name,
        contentSid: template.contentSid!,
        rich: template.content.header !== null || template.content.buttons.type !== 'none',
        fallback,
      },
    },
    { valid, outcomes, ...phoneRecipients, publish: input.publish, sendAt: input.sendAt, now: input.now ?? new Date() },
    context,
  );
}
