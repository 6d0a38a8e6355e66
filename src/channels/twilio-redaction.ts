import type twilio from 'twilio';
import type { Config } from '../config.ts';
import type { Channels } from './providers.ts';
import { createTwilioClient } from './twilio.ts';

/**
 * GDPR erasure at the provider (F14): the consumer's messages at Twilio, both ways, found by their number, have
 * their body redacted (the Messages resource's update with an empty Body) and are then deleted. Against the
 * sandbox the same SDK calls delete its rows. A message Twilio will not touch yet (still sending) is reported by
 * sid, so it can be tried again later without the number.
 */
export interface MessageRedactor {
  /** Every message to or from the number: its sid. */
  findMessages(phone: string): Promise<string[]>;
  /** Redacts then deletes each message; answers the sids that failed. */
  redact(sids: string[]): Promise<{ failed: string[] }>;
}

export function twilioMessageRedactor(client: () => Promise<twilio.Twilio>): MessageRedactor {
  return {
    async findMessages(phone) {
      const twilioClient = await client();
      const sent = await twilioClient.messages.list({ to: phone, pageSize: 1000 });
      const received = await twilioClient.messages.list({ from: phone, pageSize: 1000 });
      return [...new Set([...sent, ...received].map((message) => message.sid))];
    },
    async redact(sids) {
      const twilioClient = await client();
      const failed: string[] = [];
      for (const sid of sids) {
        try {
          await twilioClient.messages(sid).update({ body: '' });
          await twilioClient.messages(sid).remove();
        } catch (error) {
          // Already gone counts as done; anything else is tried again later.
          if ((error as { status?: number }).status !== 404) failed.push(sid);
        }
      }
      return { failed };
    },
  };
}

/** The redactor for this deployment: real Twilio with its credentials, else the sandbox through the same SDK. */
export function createMessageRedactor(config: Config, channels: Channels): MessageRedactor {
  let cached: Promise<twilio.Twilio> | null = null;
  const client = () => {
    cached ??= (async () => {
      if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN) {
        return createTwilioClient({
          accountSid: config.TWILIO_ACCOUNT_SID,
          authToken: config.TWILIO_AUTH_TOKEN,
          timeoutMs: config.TWILIO_TIMEOUT_MS,
        });
      }
      const credentials = await channels.twilioCredentials();
      const sandboxUrl = () => (config.TWILIO_SANDBOX_URL ?? `${channels.baseUrl()}/sandbox/twilio`).replace(/\/$/, '');
      return createTwilioClient({ ...credentials, sandboxBaseUrl: sandboxUrl, timeoutMs: config.TWILIO_TIMEOUT_MS });
    })();
    cached.catch(() => {
      cached = null;
    });
    return cached;
  };
  return twilioMessageRedactor(client);
}
