import type { RequestHandler } from 'express';
import twilio from 'twilio';

/**
 * SMS through the real `twilio` SDK. Without Twilio credentials the SDK talks to the built-in sandbox: a
 * RequestClient subclass rewrites every request's origin (api., lookups., content.twilio.com) to the sandbox.
 */

class SandboxRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: () => string,
    timeout: number,
  ) {
    super({ keepAlive: true, timeout });
  }

  // biome-ignore lint/suspicious/noExplicitAny: the SDK's own request signature.
  override request<TData>(opts: any): Promise<any> {
    const original = new URL(opts.uri as string);
    const product = original.hostname.split('.')[0];
    const uri = `${this.baseUrl()}${product === 'api' ? '' : `/${product}`}${original.pathname}${original.search}`;
    return super.request<TData>({ ...opts, uri });
  }
}

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** The sandbox's REST base, e.g. http://127.0.0.1:3000/sandbox/twilio; absent for real Twilio. */
  sandboxBaseUrl?: () => string;
  /** Request timeout in ms; a send that times out may still have gone out, so it is reconciled, not retried. */
  timeoutMs?: number;
}

export function createTwilioClient(settings: TwilioSettings): twilio.Twilio {
  return twilio(settings.accountSid, settings.authToken, {
    httpClient: settings.sandboxBaseUrl
      ? new SandboxRequestClient(settings.sandboxBaseUrl, settings.timeoutMs ?? 15_000)
      : new twilio.RequestClient({ keepAlive: true, timeout: settings.timeoutMs ?? 15_000 }),
    autoRetry: false,
  });
}

export interface SendFailure {
  retryable: boolean;
  code: string;
  message: string;
  source: 'provider' | 'system';
}

export class ProviderError extends Error {
  constructor(readonly failure: SendFailure) {
    super(`${failure.code}: ${failure.message}`);
    this.name = 'ProviderError';
  }
}

// 20429 too many requests; 30001 queue overflow; 30008/30003 transient carrier failures.
const RETRYABLE_CODES = new Set([20429, 30001, 20500, 20503]);

/** What a failed send means: retry later, or give up with the provider's code and message. */
export function classifySendError(error: unknown): SendFailure {
  const rest = error as { status?: number; code?: number; message?: string };
  if (typeof rest?.status === 'number') {
    const code = rest.code ? String(rest.code) : `HTTP_${rest.status}`;
    const retryable = rest.status >= 500 || rest.status === 429 || RETRYABLE_CODES.has(Number(rest.code));
    return { retryable, code, message: rest.message ?? 'Twilio refused the message', source: 'provider' };
  }
  const network = error as { code?: string; message?: string };
  const timeout =
    network?.code === 'ECONNABORTED' || network?.code === 'ETIMEDOUT' || /timeout/i.test(network?.message ?? '');
  return {
    retryable: true,
    code: timeout ? 'TIMEOUT' : 'NETWORK',
    message: network?.message ?? 'The provider could not be reached',
    source: 'provider',
  };
}

export interface SmsProvider {
  send(input: {
    from: string;
    to: string;
    body: string;
    statusCallback?: string;
  }): Promise<{ providerMessageId: string }>;
  /** Reconciliation after a crash: a message from → to created at or after `since`, if Twilio has one. */
  findSentSince(input: { from: string; to: string; since: Date; body: string }): Promise<string | null>;
  lineType(number: string): Promise<string | null>;
}

export function twilioSmsProvider(client: twilio.Twilio): SmsProvider {
  return {
    async send({ from, to, body, statusCallback }) {
      try {
        const message = await client.messages.create({ from, to, body, ...(statusCallback ? { statusCallback } : {}) });
        return { providerMessageId: message.sid };
      } catch (error) {
        throw new ProviderError(classifySendError(error));
      }
    },
    async findSentSince({ from, to, since }) {
      // DateSent filters by day; the exact instant is checked here. A second's slack covers clock rounding.
      const messages = await client.messages.list({
        from,
        to,
        dateSentAfter: new Date(since.getTime() - 86_400_000),
        limit: 50,
      });
      const match = messages.find((message) => message.dateCreated.getTime() >= since.getTime() - 1000);
      return match?.sid ?? null;
    },
    async lineType(number) {
      const result = await client.lookups.v2.phoneNumbers(number).fetch({ fields: 'line_type_intelligence' });
      const intelligence = result.lineTypeIntelligence as { type?: string } | null;
      return intelligence?.type ?? null;
    },
  };
}

/**
 * Twilio webhooks must carry a valid X-Twilio-Signature over PUBLIC_URL + path (or the request's own URL when
 * PUBLIC_URL is unset); anything else is refused with 403 before a handler records anything.
 */
export function twilioSignatureCheck(options: {
  authToken: () => Promise<string> | string;
  publicUrl?: string;
}): RequestHandler {
  return async (req, res, next) => {
    const signature = req.get('x-twilio-signature');
    const base = options.publicUrl ?? `${req.protocol}://${req.get('host')}`;
    const url = `${base.replace(/\/$/, '')}${req.originalUrl}`;
    const params = (req.body ?? {}) as Record<string, string>;
    if (!signature || !twilio.validateRequest(await options.authToken(), signature, url, params)) {
      res.status(403).type('text/plain').send('Invalid or missing X-Twilio-Signature');
      return;
    }
    next();
  };
}
