import { PersonalData } from '../app/personal-data.ts';
import type { Config } from '../config.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { TwilioSandbox } from './sandbox/rest.ts';
import { type SandboxCredentials, sandboxCredentials } from './sandbox/store.ts';
import { createTwilioClient, type SmsProvider, twilioSmsProvider } from './twilio.ts';

export interface Channels {
  /** Present when there are no real Twilio credentials: the sandbox this process serves under /sandbox. */
  sandbox: TwilioSandbox | null;
  /** The token webhook signatures are checked against: the real one, or the sandbox's. */
  twilioCredentials: () => Promise<SandboxCredentials>;
  provider: SmsProvider;
  personalData: PersonalData;
  /** Where this app is reached, for status callbacks: PUBLIC_URL, or its own address. */
  baseUrl: () => string;
}

/**
 * Real Twilio when TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are set; otherwise the sandbox, reached through the real
 * SDK at TWILIO_SANDBOX_URL or this process's own /sandbox/twilio.
 */
export function createChannels(deps: { config: Config; db: Db; log: Logger; ownBaseUrl: () => string }): Channels {
  const { config } = deps;
  const baseUrl = () => (config.PUBLIC_URL ?? deps.ownBaseUrl()).replace(/\/$/, '');
  if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN) {
    const credentials = { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN };
    return {
      sandbox: null,
      twilioCredentials: async () => credentials,
      provider: twilioSmsProvider(createTwilioClient({ ...credentials, timeoutMs: config.TWILIO_TIMEOUT_MS })),
      personalData: new PersonalData(deps.db),
      baseUrl,
    };
  }
  let cached: Promise<SandboxCredentials> | null = null;
  const twilioCredentials = () => {
    cached ??= sandboxCredentials(deps.db, {
      accountSid: config.TWILIO_SANDBOX_ACCOUNT_SID,
      authToken: config.TWILIO_SANDBOX_AUTH_TOKEN,
    });
    return cached;
  };
  const sandboxUrl = () => (config.TWILIO_SANDBOX_URL ?? `${deps.ownBaseUrl()}/sandbox/twilio`).replace(/\/$/, '');
  let provider: SmsProvider | null = null;
  const lazyProvider = async () => {
    if (!provider) {
      const credentials = await twilioCredentials();
      provider = twilioSmsProvider(
        createTwilioClient({ ...credentials, sandboxBaseUrl: sandboxUrl, timeoutMs: config.TWILIO_TIMEOUT_MS }),
      );
    }
    return provider;
  };
  return {
    sandbox: new TwilioSandbox({
      db: deps.db,
      log: deps.log,
      credentials: twilioCredentials,
      publicUrl: config.PUBLIC_URL,
    }),
    twilioCredentials,
    provider: {
      send: async (input) => (await lazyProvider()).send(input),
      findSentSince: async (input) => (await lazyProvider()).findSentSince(input),
      lineType: async (number) => (await lazyProvider()).lineType(number),
    },
    personalData: new PersonalData(deps.db),
    baseUrl,
  };
}
