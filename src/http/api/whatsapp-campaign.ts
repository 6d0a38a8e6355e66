import type { Request, Response } from 'express';
import type { AppContext } from '../../app/context.ts';
import { foldStream } from '../../app/handler.ts';
import { whatsappChannelOf } from '../../app/handoff-whatsapp.ts';
import { readTemplate } from '../../app/templates.ts';
import { createWhatsAppCampaign, type WhatsAppRecipient } from '../../app/whatsapp-campaigns.ts';
import * as account from '../../domain/account.ts';
import { type AccountSettings, requireSkill } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import type { HandoffConfig } from '../../domain/handoff.ts';
import { phoneRegion } from '../../domain/sms.ts';
import { bodyVariableCount } from '../../domain/template-content.ts';
import { type ApiCampaignInput, answerCreatedCampaign, apiCampaignFields } from './campaign-answer.ts';
import {
  consumerOutcomes,
  consumerWithoutVariables,
  type ParsedConsumer,
  parseConsumer,
  phoneFrom,
} from './campaign-shapes.ts';
import { sendApiError } from './errors.ts';

/**
 * The campaign API on a handoff with a WhatsApp channel (LivePerson's shapes): `consumerContent.wa`, alone or with
 * `sms` on the prioritized channel, `variables`, `headerVariables` and `buttonVariables`, each consumer accepted
 * or failed with LivePerson's codes.
 */

type WhatsAppConsumer = ParsedConsumer & { headerVariables?: unknown; buttonVariables?: unknown };

const present = (value: unknown) => (typeof value === 'string' && value.trim() !== '') || typeof value === 'number';

/** One consumer of a WhatsApp campaign: its WhatsApp number, and its SMS number too on the prioritized channel. */
export function parseWhatsAppConsumer(raw: unknown, prioritized: boolean): WhatsAppConsumer {
  // The SMS parse reads variables and the legacy form alike; WhatsApp's number is then looked for.
  const base = parseConsumer(raw);
  const input = base.input;
  const content = input.consumerContent as Record<string, unknown> | undefined;
  const wa = typeof content === 'object' && content !== null ? content.wa : undefined;
  const sms = typeof content === 'object' && content !== null ? content.sms : undefined;
  const extras = { headerVariables: input.headerVariables, buttonVariables: input.buttonVariables };
  if (base.error?.startsWith('VARIABLE_')) return { ...base, ...extras };
  if (!present(wa)) return { ...base, ...extras, error: 'MISSING_CONSUMER_INFORMATION=WA' };
  const phoneText = String(wa).trim().startsWith('+') ? String(wa).trim() : `+${String(wa).trim()}`;
  const countryCode = phoneRegion(phoneText);
  const parsed: WhatsAppConsumer = {
    ...base,
    ...extras,
    consumerContent: content,
    phone: phoneFrom(wa) ?? wa,
    phoneText,
    ...(countryCode ? { countryCode } : {}),
    error: undefined,
  };
  if (prioritized && !present(sms)) return { ...parsed, error: 'MISSING_CONSUMER_INFORMATION=SMS' };
  return parsed;
}

function senderWith(settings: AccountSettings, channel: 'sms' | 'whatsapp', number: string | undefined) {
  const address = number ? phoneFrom(number.replace(/^whatsapp:/, '')) : null;
  return Object.entries(settings.senders).find(
    ([, sender]) => sender.channel === channel && sender.address === address,
  )?.[0];
}

/**
 * The senders a campaign on a WhatsApp handoff goes from: its WhatsApp sender (or the campaign's outboundNumber),
 * and on the prioritized channel the SMS fallback (the handoff's SMS sender, text and receipt timeout).
 */
export function whatsappSendersOf(settings: AccountSettings, config: HandoffConfig, outboundNumber?: string) {
  const route = whatsappChannelOf(config)!;
  const senderId = senderWith(settings, 'whatsapp', outboundNumber ?? route.whatsapp.outboundnumber);
  if (!senderId) {
    throw new DomainError(
      'UNKNOWN_SENDER',
      'outboundNumber is not a WhatsApp sender of this account.',
      'outboundNumber',
    );
  }
  if (!route.sms) return { senderId, fallback: null };
  const smsBody = route.sms.messageComponents.find((component) => component.type === 'body');
  const smsSender = senderWith(settings, 'sms', route.sms.outboundnumber ?? outboundNumber);
  if (!smsSender || !smsBody) {
    throw new DomainError('UNKNOWN_SENDER', 'The handoff’s SMS channel has no SMS sender or body.', 'templateId');
  }
  return {
    senderId,
    fallback: {
      senderId: smsSender,
      text: smsBody.content,
      optOutText: smsBody.optOut,
      timeoutSeconds: route.whatsapp.fallbackTimeoutSeconds,
    },
  };
}

export function handoffHasWhatsApp(config: HandoffConfig): boolean {
  return whatsappChannelOf(config) !== null;
}

export async function createWhatsAppCampaignFromApi(
  app: AppContext,
  req: Request,
  res: Response,
  input: ApiCampaignInput,
): Promise<void> {
  const accountId = String(req.params.accountId);
  const { body, config } = input;
  const route = whatsappChannelOf(config)!;
  const accountState = foldStream(account, await app.store.read(account.accountStream(accountId)));
  const skill = requireSkill(accountState.settings, body.skill);
  const { senderId, fallback } = whatsappSendersOf(accountState.settings, config, body.outboundNumber);
  const template = await readTemplate(app, route.whatsapp.templateId ?? '');
  if (template.content && bodyVariableCount(template.content) > 0) {
    const missing = consumerWithoutVariables(body.consumers);
    if (missing >= 0) {
      return sendApiError(res, 400, 'FIELDS_MISSING', 'Fields missing in request: variables', {
        field: `consumers.${missing}.variables`,
      });
    }
  }
  const parsed = body.consumers.map((raw) => parseWhatsAppConsumer(raw, route.sms !== null));
  const usable = parsed.flatMap((consumer, index) => (consumer.error ? [] : [{ consumer, index }]));
  const created = await createWhatsAppCampaign(
    { ...app, personalData: app.channels.personalData },
    {
      ...apiCampaignFields(req, input, skill[0]),
      templateId: route.whatsapp.templateId ?? '',
      senderId,
      fallback,
      recipients: usable.map(
        ({ consumer }): WhatsAppRecipient => ({
          phone: consumer.phone,
          variables: consumer.variables,
          headerVariables: consumer.headerVariables,
          buttonVariables: consumer.buttonVariables,
        }),
      ),
    },
    { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
  );
  await answerCreatedCampaign(
    app,
    req,
    res,
    { ...created, skillId: skill[0] },
    consumerOutcomes(parsed, usable, created.outcomes),
  );
}
