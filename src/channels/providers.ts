import type { Config } from '../config.ts';
import type { Db } from '../infra/db.ts';
import { kept } from '../infra/kept.ts';
import type { Logger } from '../infra/logger.ts';
import { PersonalData } from '../infra/personal-data.ts';
import { inAppChannel } from './inapp.ts';
import type { ChannelProviders, WhatsAppTemplates } from './port.ts';
import { TwilioSandbox } from './sandbox/rest.ts';
import { type SandboxCredentials, sandboxCredentials } from './sandbox/store.ts';
import { createTwilioClient, type RequestObserver, twilioLineTypes, twilioSmsChannel } from './twilio.ts';
import { twilioWhatsAppChannel, twilioWhatsAppTemplates } from './twilio-whatsapp.ts';

export interface Channels {
  /** Present when there are no real Twilio credentials: the sandbox this process serves under /sandbox. */
  sandbox: TwilioSandbox | null;
  /** The token webhook signatures are checked against: the real one, or the sandbox's. */
  twilioCredentials: () => Promise<SandboxCredentials>;
  /** The channel providers, by channel (DESIGN §5). */
  providers: ChannelProviders;
  /** WhatsApp templates at Twilio (Content API + approval requests). */
  whatsappTemplates: WhatsAppTemplates;
  /** Twilio Lookup: a number's line type. */
  lineTypes: { lineType(number: string): Promise<string | null> };
  personalData: PersonalData;
  /** Where this app's webhooks are reached, for status callbacks. */
  baseUrl: () => string;
}

/**
 * Where the providers post status callbacks: PUBLIC_URL; else, for a worker (which serves no HTTP) on the
 * built-in sandbox, the web process that serves that sandbox (and the webhooks); else this process's own address.
 */
export function callbackBaseUrl(config: Config, ownBaseUrl: () => string): () => string {
  if (config.PUBLIC_URL) {
    const url = config.PUBLIC_URL.replace(/\/$/, '');
    return () => url;
  }
  if (config.ROLE === 'worker' && config.TWILIO_SANDBOX_URL && !config.TWILIO_ACCOUNT_SID) {
    const origin = new URL(config.TWILIO_SANDBOX_URL).origin;
    return () => origin;
  }
  return () => ownBaseUrl().replace(/\/$/, '');
}

/**
 * Real Twilio when TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are set; otherwise the sandbox, reached through the real
 * SDK at TWILIO_SANDBOX_URL or this process's own /sandbox/twilio.
 */
export function createChannels(deps: {
  config: Config;
  db: Db;
  log: Logger;
  ownBaseUrl: () => string;
  observe?: RequestObserver;
}): Channels {
  const { config } = deps;
  const baseUrl = callbackBaseUrl(config, deps.ownBaseUrl);
  const timeoutMs = config.TWILIO_TIMEOUT_MS;
  const personalData = new PersonalData(deps.db);
  const inapp = inAppChannel({ db: deps.db, personalData, config, baseUrl });
  const channels = (client: () => Promise<ReturnType<typeof createTwilioClient>>) => ({
    providers: {
      sms: twilioSmsChannel(client, { observe: deps.observe }),
      whatsapp: twilioWhatsAppChannel(client, { observe: deps.observe }),
      inapp,
    },
    whatsappTemplates: twilioWhatsAppTemplates(client, { observe: deps.observe }),
    lineTypes: twilioLineTypes(client),
    personalData,
    baseUrl,
  });
  if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN) {
    const credentials = { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN };
    const client = createTwilioClient({ ...credentials, timeoutMs });
    return { sandbox: null, twilioCredentials: async () => credentials, ...channels(async () => client) };
  }
  const twilioCredentials = kept(() =>
    sandboxCredentials(deps.db, {
      accountSid: config.TWILIO_SANDBOX_ACCOUNT_SID,
      authToken: config.TWILIO_SANDBOX_AUTH_TOKEN,
    }),
  );
  const sandboxUrl = () => (config.TWILIO_SANDBOX_URL ?? `${deps.ownBaseUrl()}/sandbox/twilio`).replace(/\/$/, '');
  // The sandbox's credentials live in the database, so its client is made on first use.
  let client: Promise<ReturnType<typeof createTwilioClient>> | null = null;
  const sandboxClient = () => {
    client ??= twilioCredentials().then((credentials) =>
      createTwilioClient({ ...credentials, sandboxBaseUrl: sandboxUrl, timeoutMs }),
    );
    return client;
  };
  return {
    sandbox: new TwilioSandbox({
      db: deps.db,
      log: deps.log,
      credentials: twilioCredentials,
      publicUrl: config.PUBLIC_URL,
    }),
    twilioCredentials,
    ...channels(sandboxClient),
  };
}
