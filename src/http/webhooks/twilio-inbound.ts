import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { optIn, optOut } from '../../app/consumers.ts';
import type { AppContext } from '../../app/context.ts';
import { routeInbound } from '../../app/conversations.ts';
import { ChannelSendError } from '../../channels/port.ts';
import { parseTwilioAddress, type TwilioAddress } from '../../channels/twilio-whatsapp.ts';
import * as consumer from '../../domain/consumer.ts';
import type { TwilioWebhookDeps } from './twilio.ts';

export const HELP_REPLY = 'Reply STOP to unsubscribe, START to subscribe again. Msg&data rates may apply.';
/** Twilio's own limit for one message body. */
const MAX_INBOUND_LENGTH = 1600;
/** WhatsApp's limit for a quick reply's payload is 256 characters; more is not Twilio's and is cut. */
const MAX_PAYLOAD_LENGTH = 256;

type InboundChannel = TwilioAddress['channel'];

/**
 * What the consumer wrote: the Body; a WhatsApp quick-reply tap has the button's text as its Body (ButtonText) and
 * its id as ButtonPayload; a message with only media (NumMedia) is recorded as saying so, the media not fetched.
 */
export function inboundText(params: Record<string, unknown>): { text: string; buttonPayload?: string } {
  const text = (field: string) => (typeof params[field] === 'string' ? (params[field] as string) : '');
  const body = text('Body') || text('ButtonText');
  const media = Number.parseInt(text('NumMedia') || '0', 10);
  const attachments = Number.isFinite(media) && media > 0 ? `[${media} attachment${media === 1 ? '' : 's'}]` : '';
  const payload = text('ButtonPayload').slice(0, MAX_PAYLOAD_LENGTH);
  return {
    text: [body, body.trim() ? '' : attachments].filter(Boolean).join(' '),
    ...(payload ? { buttonPayload: payload } : {}),
  };
}

/**
 * `POST /webhooks/twilio/inbound` (after the signature check): a consumer's SMS or WhatsApp message. The number
 * written to names the account's sender on that channel; keywords opt out, opt in or get the help reply on the
 * channel they came on; anything else is routed to a conversation (src/app/conversations.ts).
 */
export function inboundMessageHandler(app: AppContext, deps: TwilioWebhookDeps) {
  return async (req: Request, res: Response) => {
    const params = (req.body ?? {}) as Record<string, unknown>;
    const from = parseTwilioAddress(params.From);
    const to = parseTwilioAddress(params.To);
    if (!from || !to || from.channel !== to.channel) {
      app.log.warn({ from: Boolean(from), to: Boolean(to) }, 'inbound message without a valid From or To; ignored');
      res
        .status(400)
        .type('text/plain')
        .send('From and To must be phone numbers (whatsapp:+E164 for both on WhatsApp)');
      return false;
    }
    const channel = to.channel;
    // The number the consumer wrote to, and the channel, tell the account.
    const sender = await app
      .db('senders')
      .where({ address: to.phone, channel })
      .first<{ account_id: string; sender_id: string } | undefined>('account_id', 'sender_id');
    if (!sender) {
      app.log.warn({ channel }, 'inbound message to a number that is no sender of any account; ignored');
      res.status(404).type('text/plain').send('Unknown recipient number');
      return false;
    }
    const accountId = sender.account_id;
    const { text, buttonPayload } = inboundText(params);
    const consumerRef = await deps.personalData.consumerRef(accountId, from.phone);
    const keyword = consumer.classifyKeyword(text);
    const context = { actor: 'system:twilio-inbound', correlationId: String(params.MessageSid ?? '') || undefined };
    if (keyword === 'opt-out' || keyword === 'opt-in') {
      const input = { accountId, consumerRef, keyword: text.trim().toUpperCase(), channel, via: 'keyword' as const };
      await (keyword === 'opt-out' ? optOut : optIn)(app, input, context);
    } else if (keyword === 'help') {
      await sendHelpReply(app, deps, channel, to.phone, from.phone);
    } else if (text.trim() === '') {
      app.log.info({ accountId }, 'inbound message with an empty body; nothing to route');
    } else if (text.length > MAX_INBOUND_LENGTH) {
      app.log.warn({ accountId, length: text.length }, 'inbound message longer than Twilio takes; refused');
      res.status(400).type('text/plain').send(`Body is longer than ${MAX_INBOUND_LENGTH} characters`);
      return false;
    } else {
      const routed = await routeInbound(
        { ...app, personalData: deps.personalData, providers: deps.providers },
        {
          accountId,
          consumerRef,
          phone: from.phone,
          senderId: sender.sender_id,
          channel,
          body: text,
          ...(buttonPayload ? { buttonPayload } : {}),
          providerMessageId: typeof params.MessageSid === 'string' ? params.MessageSid : `inbound-${randomUUID()}`,
          now: app.now?.() ?? new Date(),
        },
      );
      app.log.info(
        { accountId, channel, conversationId: routed.conversationId, routing: routed.routing },
        'consumer reply routed',
      );
    }
    return true;
  };
}

/**
 * HELP gets the help text on the channel it came on (on WhatsApp as free text: the consumer just wrote); a
 * provider that cannot take it now is logged, and the consumer may ask again.
 */
async function sendHelpReply(
  app: AppContext,
  deps: TwilioWebhookDeps,
  channel: InboundChannel,
  from: string,
  to: string,
) {
  try {
    await deps.providers[channel]?.send({ from, to, body: HELP_REPLY });
  } catch (error) {
    if (!(error instanceof ChannelSendError)) throw error;
    app.log.warn({ failure: error.failure, channel }, 'the HELP reply could not be sent');
  }
}
