import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { optIn, optOut } from '../../app/consumers.ts';
import type { AppContext } from '../../app/context.ts';
import { routeInbound } from '../../app/conversations.ts';
import { handleCommand } from '../../app/handler.ts';
import { type ChannelProviders, ChannelSendError } from '../../channels/port.ts';
import { twilioSignatureCheck } from '../../channels/twilio.ts';
import * as consumer from '../../domain/consumer.ts';
import { DomainError } from '../../domain/decider.ts';
import * as message from '../../domain/message.ts';
import { normalizePhone } from '../../domain/sms.ts';
import type { PersonalData } from '../../infra/personal-data.ts';

export const HELP_REPLY = 'Reply STOP to unsubscribe, START to subscribe again. Msg&data rates may apply.';
/** Twilio's own limit for one message body. */
const MAX_INBOUND_LENGTH = 1600;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export interface TwilioWebhookDeps {
  authToken: () => Promise<string>;
  personalData: PersonalData;
  providers: ChannelProviders;
}

/**
 * Twilio's status callbacks and inbound messages. Both verify X-Twilio-Signature first: a bad or missing one is
 * refused with 403 and records nothing. Repeated callbacks change nothing (the message decider ignores them).
 */
export function twilioWebhooks(app: AppContext, deps: TwilioWebhookDeps): Router {
  const router = Router();
  const signed = twilioSignatureCheck({ authToken: deps.authToken, publicUrl: app.config.PUBLIC_URL });
  const twiml = (res: import('express').Response) => res.type('text/xml').send(EMPTY_TWIML);

  router.post('/webhooks/twilio/status', signed, async (req, res) => {
    // `a` and `m` are the names of callback URLs handed to Twilio before they were spelt out.
    const accountId = queryText(req.query.account ?? req.query.a);
    const messageId = queryText(req.query.message ?? req.query.m);
    const update = deps.providers.sms?.parseStatusCallback(req.body ?? {});
    if (!accountId || !messageId || !update) {
      res
        .status(400)
        .type('text/plain')
        .send('MessageSid, MessageStatus and the account and message query parameters are required');
      return;
    }
    try {
      await handleCommand(
        app.store,
        message.messageStream(messageId),
        message,
        {
          type: 'RecordStatus',
          accountId,
          campaignId: messageId.slice(0, messageId.lastIndexOf('.')),
          messageId,
          providerMessageId: update.providerMessageId,
          status: update.status,
          code: update.errorCode,
          message: update.errorMessage,
          now: new Date().toISOString(),
        },
        { actor: 'system:twilio-status' },
      );
    } catch (error) {
      if (error instanceof DomainError && error.code === 'MESSAGE_NOT_FOUND') {
        res.status(404).type('text/plain').send('Unknown message');
        return;
      }
      throw error;
    }
    twiml(res);
  });

  router.post('/webhooks/twilio/inbound', signed, async (req, res) => {
    const from = normalizePhone(req.body?.From);
    const to = normalizePhone(req.body?.To);
    const body = typeof req.body?.Body === 'string' ? req.body.Body : '';
    if (!from || !to) {
      app.log.warn({ from: Boolean(from), to: Boolean(to) }, 'inbound message without a valid From or To; ignored');
      res.status(400).type('text/plain').send('From and To must be phone numbers');
      return;
    }
    // The number the consumer wrote to tells the account.
    const sender = await app.db('senders').where({ address: to, channel: 'sms' }).first('account_id', 'sender_id');
    if (!sender) {
      app.log.warn('inbound message to a number that is no sender of any account; ignored');
      res.status(404).type('text/plain').send('Unknown recipient number');
      return;
    }
    const accountId = sender.account_id as string;
    const consumerRef = await deps.personalData.consumerRef(accountId, from);
    const keyword = consumer.classifyKeyword(body);
    const context = { actor: 'system:twilio-inbound', correlationId: req.body.MessageSid };
    if (keyword === 'opt-out' || keyword === 'opt-in') {
      const input = {
        accountId,
        consumerRef,
        keyword: body.trim().toUpperCase(),
        channel: 'sms',
        via: 'keyword' as const,
      };
      await (keyword === 'opt-out' ? optOut : optIn)(app, input, context);
    } else if (keyword === 'help') {
      await sendHelpReply(to, from);
    } else if (body.trim() === '') {
      app.log.info({ accountId }, 'inbound message with an empty body; nothing to route');
    } else if (body.length > MAX_INBOUND_LENGTH) {
      app.log.warn({ accountId, length: body.length }, 'inbound message longer than an SMS can be; refused');
      res.status(400).type('text/plain').send(`Body is longer than ${MAX_INBOUND_LENGTH} characters`);
      return;
    } else {
      const routed = await routeInbound(
        { ...app, personalData: deps.personalData, providers: deps.providers },
        {
          accountId,
          consumerRef,
          phone: from,
          senderId: sender.sender_id as string,
          body,
          providerMessageId: typeof req.body.MessageSid === 'string' ? req.body.MessageSid : `inbound-${randomUUID()}`,
          now: new Date(),
        },
      );
      app.log.info(
        { accountId, conversationId: routed.conversationId, routing: routed.routing },
        'consumer reply routed',
      );
    }
    twiml(res);
  });

  /** HELP gets the help text; a provider that cannot take it now is logged, and the consumer may ask again. */
  async function sendHelpReply(from: string, to: string) {
    try {
      await deps.providers.sms?.send({ from, to, body: HELP_REPLY });
    } catch (error) {
      if (!(error instanceof ChannelSendError)) throw error;
      app.log.warn({ failure: error.failure }, 'the HELP reply could not be sent');
    }
  }

  return router;
}

const queryText = (value: unknown): string => (typeof value === 'string' ? value : '');
