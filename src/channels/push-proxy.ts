import { randomUUID } from 'node:crypto';
import type { PushContent } from '../domain/inapp-message.ts';
import { SIGNATURE_HEADER, signPayload } from '../infra/signature.ts';
import { ChannelSendError, type SendFailure } from './port.ts';

/**
 * The brand's own push proxy (F6): a signed JSON POST per message, `{consumerId, appId, title, body, imageUrl,
 * deepLink, messageId}`, signed as the status webhooks are. 2xx: pushed. 410: the consumer's device is gone (the
 * device is removed and the message fails). 5xx, 429 and refused connections are retried like any provider's
 * failures; a timeout may have been pushed, so it is ambiguous (reconciled, then retried: `messageId` lets the proxy
 * drop a duplicate).
 */

export async function pushThroughProxy(input: {
  push: PushContent;
  secret: string;
  deepLink: string;
  timeoutMs: number;
  now?: () => Date;
}): Promise<{ providerMessageId: string }> {
  const { push } = input;
  const body = JSON.stringify({
    consumerId: push.consumerId,
    appId: push.appId,
    title: push.title,
    body: push.body,
    imageUrl: push.imageUrl,
    deepLink: input.deepLink,
    messageId: push.messageId,
  });
  const timestamp = Math.floor((input.now?.() ?? new Date()).getTime() / 1000);
  let response: Response;
  try {
    response = await fetch(push.proxyUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signPayload(input.secret, body, timestamp) },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
  } catch (error) {
    throw new ChannelSendError(networkFailure(error));
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    let id: unknown;
    try {
      id = (JSON.parse(text) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    return { providerMessageId: typeof id === 'string' && /^[\w.:-]{1,100}$/.test(id) ? id : `push-${randomUUID()}` };
  }
  const detail = text.slice(0, 200).replace(/\s+/g, ' ').trim();
  const said = detail ? `: ${detail}` : '';
  if (response.status === 410) {
    throw new ChannelSendError({
      kind: 'permanent',
      code: 'PUSH_PROXY_GONE',
      message: `The push proxy answered 410 Gone: the consumer's device is no longer registered; it was removed${said}.`,
      source: 'provider',
    });
  }
  const retryable = response.status >= 500 || response.status === 429;
  throw new ChannelSendError({
    kind: retryable ? 'retryable' : 'permanent',
    code: `PUSH_PROXY_${response.status}`,
    message: `The push proxy answered ${response.status}${said}.`,
    source: 'provider',
  });
}

/** A request that got no answer: refused or unresolved (it never arrived) is retryable; a timeout is ambiguous. */
export function networkFailure(error: unknown): SendFailure {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      kind: 'ambiguous',
      code: 'TIMEOUT',
      message: 'The push provider did not answer in time.',
      source: 'provider',
    };
  }
  const cause = (error as { cause?: { code?: string } }).cause;
  return {
    kind: 'retryable',
    code: cause?.code ?? 'NETWORK',
    message: `The push provider could not be reached (${cause?.code ?? (error as Error).message}).`,
    source: 'provider',
  };
}
