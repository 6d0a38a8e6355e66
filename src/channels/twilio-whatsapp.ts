import type twilio from 'twilio';
import { normalizePhone } from '../domain/sms.ts';
import {
  contentVariableLayout,
  type TemplateContent,
  templateKind,
  URL_BUTTON_VARIABLE,
} from '../domain/template-content.ts';
import type { ChannelProvider, TemplateApproval, WhatsAppTemplates } from './port.ts';
import { observed, type RequestObserver, twilioSmsChannel } from './twilio.ts';

/**
 * WhatsApp through Twilio (DESIGN §5): templates are Content API resources with a WhatsApp approval request;
 * messages go from a `whatsapp:+E164` sender with the approved template's ContentSid and its variables.
 */

export const whatsappAddress = (number: string) => (number.startsWith('whatsapp:') ? number : `whatsapp:${number}`);

export interface TwilioAddress {
  channel: 'sms' | 'whatsapp';
  /** E.164. */
  phone: string;
}

/** A Twilio address: `+E164` on SMS, `whatsapp:+E164` on WhatsApp (null when it is neither). */
export function parseTwilioAddress(value: unknown): TwilioAddress | null {
  if (typeof value !== 'string') return null;
  const whatsapp = value.startsWith('whatsapp:');
  const phone = normalizePhone(whatsapp ? value.slice('whatsapp:'.length) : value);
  return phone ? { channel: whatsapp ? 'whatsapp' : 'sms', phone } : null;
}

type Action = { type?: string; title: string; id?: string; url?: string; phone?: string };

/** Twilio's content type and its fields for a template; a footer, or a header with buttons, needs a card. */
export function contentTypes(content: TemplateContent): Record<string, Record<string, unknown>> {
  const layout = contentVariableLayout(content);
  const media = layout.header ? [`{{${layout.header}}}`] : undefined;
  const actions: Action[] = [];
  const buttons = content.buttons;
  if (buttons.type === 'quick-reply') {
    for (const title of buttons.replies) actions.push({ type: 'QUICK_REPLY', title, id: title });
  } else if (buttons.type === 'call-to-action') {
    if (buttons.url) {
      const url = layout.button
        ? `${buttons.url.url.slice(0, -URL_BUTTON_VARIABLE.length)}{{${layout.button}}}`
        : buttons.url.url;
      actions.push({ type: 'URL', title: buttons.url.title, url });
    }
    if (buttons.phone) actions.push({ type: 'PHONE_NUMBER', title: buttons.phone.title, phone: buttons.phone.phone });
  }
  const kind = templateKind(content);
  if (content.footer || kind === 'card') {
    return {
      'whatsapp/card': {
        body: content.body,
        ...(content.footer ? { footer: content.footer } : {}),
        ...(media ? { media } : {}),
        ...(actions.length ? { actions } : {}),
      },
    };
  }
  switch (kind) {
    case 'text':
      return { 'twilio/text': { body: content.body } };
    case 'media':
      return { 'twilio/media': { body: content.body, media } };
    case 'quick-reply':
      return { 'twilio/quick-reply': { body: content.body, actions: actions.map(({ title, id }) => ({ title, id })) } };
    default:
      return { 'twilio/call-to-action': { body: content.body, actions } };
  }
}

/** The Content API's create body, in its wire names: samples become the variables' defaults. */
export function contentCreateRequest(content: TemplateContent) {
  const layout = contentVariableLayout(content);
  const variables: Record<string, string> = {};
  for (let number = 1; number <= layout.body; number++) variables[String(number)] = content.samples[String(number)]!;
  if (layout.header && content.header) variables[layout.header] = content.header.sampleUrl;
  if (layout.button) variables[layout.button] = content.samples.button ?? '';
  return { friendly_name: content.name, language: content.language, variables, types: contentTypes(content) };
}

const APPROVAL_OF: Record<string, TemplateApproval['status']> = {
  approved: 'approved',
  rejected: 'rejected',
  paused: 'paused',
  disabled: 'disabled',
};

export function twilioWhatsAppTemplates(
  client: () => Promise<twilio.Twilio>,
  options: { observe?: RequestObserver } = {},
): WhatsAppTemplates {
  return {
    create: (content) =>
      observed('whatsapp', options.observe, async () => {
        // The SDK sends the body as given; Twilio's API takes the snake_case wire names built here.
        const request = contentCreateRequest(content) as unknown as Parameters<
          twilio.Twilio['content']['v1']['contents']['create']
        >[0];
        return (await (await client()).content.v1.contents.create(request)).sid;
      }),
    requestApproval: (contentSid, request) =>
      observed('whatsapp', options.observe, async () => {
        await (await client()).content.v1.contents(contentSid).approvalCreate.create(request);
      }),
    approval: (contentSid) =>
      observed('whatsapp', options.observe, async () => {
        const fetched = await (await client()).content.v1.contents(contentSid).approvalFetch().fetch();
        const whatsapp = (fetched.whatsapp ?? {}) as { status?: string; rejection_reason?: string };
        const status = APPROVAL_OF[whatsapp.status ?? ''] ?? 'pending';
        return {
          status,
          reason: status === 'approved' || status === 'pending' ? null : whatsapp.rejection_reason || null,
        };
      }),
  };
}

/**
 * The WhatsApp channel: the SMS adapter's send, status parsing and reconciliation over `whatsapp:` addresses,
 * with the template's ContentSid and variables.
 */
export function twilioWhatsAppChannel(
  client: () => Promise<twilio.Twilio>,
  options: { observe?: RequestObserver } = {},
): ChannelProvider {
  const sms = twilioSmsChannel(client, options);
  return {
    channel: 'whatsapp',
    supports: { deliveryReceipts: true, readReceipts: true, reconciliation: true, maxBodyLength: 1024 },
    send: ({ from, to, body, contentSid, contentVariables, statusCallback }) =>
      observed('whatsapp', options.observe, async () => {
        const message = await (await client()).messages.create({
          from: whatsappAddress(from),
          to: whatsappAddress(to),
          ...(contentSid ? { contentSid, contentVariables: JSON.stringify(contentVariables ?? {}) } : { body }),
          ...(statusCallback ? { statusCallback } : {}),
        });
        return { providerMessageId: message.sid };
      }),
    findSentSince: ({ from, to, since }) =>
      sms.findSentSince({ from: whatsappAddress(from), to: whatsappAddress(to), since }),
    parseStatusCallback: (params) => sms.parseStatusCallback(params),
  };
}
