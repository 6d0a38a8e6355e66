import type { RequestHandler } from 'express';
import twilio from 'twilio';
import { type ChannelProvider, ChannelSendError, type SendFailure } from './port.ts';

/**
 * Twilio through the real `twilio` SDK. Without Twilio credentials the SDK talks to the built-in sandbox: a
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

// Twilio codes that mean "not now" rather than "never": 20429 too many requests, 30001 queue overflow, and the
// 5xx-class 20500/20503.
const RETRYABLE_CODES = new Set([20429, 30001, 20500, 20503]);
// The request never left this machine, or nothing listened: it certainly did not go out.
const NOT_SENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * What a failed Twilio request means. An HTTP answer is retryable (5xx, 429, the codes above) or permanent with
 * Twilio's code; a connection that could not be made is retryable; anything else (a timeout, a reset, a socket
 * closed after the request was written) is ambiguous: Twilio may have taken the message.
 */
export function classifySendError(error: unknown): SendFailure {
  const rest = error as { status?: number; code?: number | string; message?: string };
  if (typeof rest?.status === 'number') {
    const code = rest.code ? String(rest.code) : `HTTP_${rest.status}`;
    const retryable = rest.status >= 500 || rest.status === 429 || RETRYABLE_CODES.has(Number(rest.code));
    return {
      kind: retryable ? 'retryable' : 'permanent',
      code,
      message: rest.message ?? 'Twilio refused the message',
      source: 'provider',
    };
  }
  const network = error as { code?: string; message?: string; cause?: { code?: string } };
  const code = network?.code ?? network?.cause?.code ?? '';
  const message = network?.message || 'The provider could not be reached';
  if (NOT_SENT_NETWORK_CODES.has(code)) {
    return { kind: 'retryable', code: 'NETWORK', message: `${code}: ${message}`, source: 'provider' };
  }
  const timeout = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(message);
  return { kind: 'ambiguous', code: timeout ? 'TIMEOUT' : 'NETWORK', message, source: 'provider' };
}

/** Observes every Twilio request of an adapter: how long it took and how it ended (for the provider-latency metric). */
export type RequestObserver = (channel: string, seconds: number, outcome: 'ok' | SendFailure['kind']) => void;

export async function observed<T>(
  channel: string,
  observe: RequestObserver | undefined,
  request: () => Promise<T>,
): Promise<T> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const result = await request();
    observe?.(channel, elapsed(), 'ok');
    return result;
  } catch (error) {
    const failure = classifySendError(error);
    observe?.(channel, elapsed(), failure.kind);
    throw new ChannelSendError(failure);
  }
}

/**
 * Twilio SMS (Programmable Messaging) behind the channel port. `client` is asked for on each request: the
 * sandbox's credentials live in the database, so its client is made on first use.
 */
export function twilioSmsChannel(
  client: () => Promise<twilio.Twilio>,
  options: { observe?: RequestObserver } = {},
): ChannelProvider {
  return {
    channel: 'sms',
    supports: { deliveryReceipts: true, readReceipts: false, reconciliation: true, maxBodyLength: 1600 },
    send: ({ from, to, body, statusCallback }) =>
      observed('sms', options.observe, async () => {
        const messages = (await client()).messages;
        const message = await messages.create({ from, to, body, ...(statusCallback ? { statusCallback } : {}) });
        return { providerMessageId: message.sid };
      }),
    findSentSince: ({ from, to, since }) =>
      observed('sms', options.observe, async () => {
        // DateSent filters by day; the exact instant is checked here. A second's slack covers clock rounding.
        const messages = await (await client()).messages.list({
          from,
          to,
          dateSentAfter: new Date(since.getTime() - 86_400_000),
          limit: 50,
        });
        const match = messages.find((message) => message.dateCreated.getTime() >= since.getTime() - 1000);
        return match?.sid ?? null;
      }),
    parseStatusCallback(params) {
      const text = (name: string) => (typeof params[name] === 'string' ? (params[name] as string) : '');
      const providerMessageId = text('MessageSid');
      const status = text('MessageStatus');
      if (!providerMessageId || !status) return null;
      return {
        providerMessageId,
        status,
        errorCode: text('ErrorCode') || undefined,
        errorMessage: text('ErrorMessage') || undefined,
      };
    },
  };
}

/** Twilio Lookup's line type of a number (mobile, landline, …), null when Lookup does not say. */
export function twilioLineTypes(client: () => Promise<twilio.Twilio>): {
  lineType(number: string): Promise<string | null>;
} {
  return {
    async lineType(number) {
      const result = await (await client()).lookups.v2.phoneNumbers(number).fetch({ fields: 'line_type_intelligence' });
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
