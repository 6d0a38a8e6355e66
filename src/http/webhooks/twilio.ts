import { Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { handleCommand } from '../../app/handler.ts';
import type { ChannelProviders } from '../../channels/port.ts';
import { twilioSignatureCheck } from '../../channels/twilio.ts';
import { DomainError } from '../../domain/decider.ts';
import * as message from '../../domain/message.ts';
import type { PersonalData } from '../../infra/personal-data.ts';
import { inboundMessageHandler } from './twilio-inbound.ts';

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

  const inbound = inboundMessageHandler(app, deps);
  router.post('/webhooks/twilio/inbound', signed, async (req, res) => {
    if (await inbound(req, res)) twiml(res);
  });

  return router;
}

const queryText = (value: unknown): string => (typeof value === 'string' ? value : '');
