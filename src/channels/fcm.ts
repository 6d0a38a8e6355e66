import { gaxios, JWT } from 'google-auth-library';
import type { PushContent } from '../domain/inapp-message.ts';
import type { ServiceAccount } from './inapp-credentials.ts';
import { ChannelSendError } from './port.ts';
import { networkFailure } from './push-proxy.ts';

/**
 * FCM HTTP v1 (F6): the service account's OAuth2 token (google-auth-library's JWT client, its token request sent to
 * FCM_TOKEN_URL when set, so tests use a local token endpoint), then `POST {FCM_BASE_URL}/v1/projects/{project}/
 * messages:send`. UNREGISTERED and INVALID_ARGUMENT mean the token is dead: the device is removed.
 */

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const clients = new Map<string, JWT>();

/** One JWT client per service account and token URL, so its access token is reused until it expires. */
function clientFor(account: ServiceAccount, tokenUrl: string | undefined): JWT {
  const key = `${account.client_email}|${account.private_key.length}|${tokenUrl ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    const transporter = new gaxios.Gaxios();
    if (tokenUrl) {
      transporter.interceptors.request.add({
        resolved: async (options) => {
          if (String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(tokenUrl);
          return options;
        },
      });
    }
    client = new JWT({ email: account.client_email, key: account.private_key, scopes: [SCOPE], transporter });
    if (clients.size > 100) clients.clear();
    clients.set(key, client);
  }
  return client;
}

async function accessToken(account: ServiceAccount, tokenUrl: string | undefined): Promise<string> {
  try {
    const { token } = await clientFor(account, tokenUrl).getAccessToken();
    if (!token) throw new Error('no access token in the answer');
    return token;
  } catch (error) {
    const status = (error as { response?: { status?: number } }).response?.status;
    const refused = status !== undefined && status >= 400 && status < 500 && status !== 429;
    throw new ChannelSendError({
      kind: refused ? 'permanent' : 'retryable',
      code: 'FCM_AUTH_FAILED',
      message:
        `The service account's OAuth2 token exchange failed${status ? ` (${status})` : ''}: ${(error as Error).message}`.slice(
          0,
          300,
        ),
      source: 'provider',
    });
  }
}

interface FcmErrorBody {
  error?: { code?: number; status?: string; message?: string; details?: { '@type'?: string; errorCode?: string }[] };
}

export async function pushThroughFcm(input: {
  push: PushContent;
  pushToken: string;
  serviceAccount: ServiceAccount;
  deepLink: string;
  baseUrl: string;
  tokenUrl: string | undefined;
  timeoutMs: number;
}): Promise<{ providerMessageId: string }> {
  const { push } = input;
  const bearer = await accessToken(input.serviceAccount, input.tokenUrl);
  const project = encodeURIComponent(push.fcmProjectId ?? input.serviceAccount.project_id);
  const url = `${input.baseUrl.replace(/\/$/, '')}/v1/projects/${project}/messages:send`;
  const message = {
    token: input.pushToken,
    notification: { title: push.title, body: push.body, ...(push.imageUrl ? { image: push.imageUrl } : {}) },
    data: { deepLink: input.deepLink, messageId: push.messageId, appId: push.appId },
  };
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
      redirect: 'manual',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
  } catch (error) {
    throw new ChannelSendError(networkFailure(error));
  }
  const text = await response.text().catch(() => '');
  let parsed: { name?: unknown } & FcmErrorBody = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {};
  }
  if (response.ok) {
    const name = typeof parsed.name === 'string' ? parsed.name : null;
    return { providerMessageId: name?.slice(0, 200) ?? `fcm-${push.messageId}` };
  }
  const fcmCode = parsed.error?.details?.find((detail) => detail.errorCode)?.errorCode;
  const code = fcmCode ?? parsed.error?.status ?? `FCM_${response.status}`;
  const retryable = response.status >= 500 || response.status === 429;
  throw new ChannelSendError({
    kind: retryable ? 'retryable' : 'permanent',
    code,
    message: `FCM answered ${response.status} ${code}${parsed.error?.message ? `: ${parsed.error.message.slice(0, 200)}` : ''}.`,
    source: 'provider',
  });
}
