import { z } from 'zod';
import { DomainError } from './decider.ts';
import { type RenderResult, renderSms } from './sms.ts';

/**
 * An In-App message (F6): its text with variables (shown in the messaging window, and the notification's body unless
 * one is set apart), the notification's title, an optional image (https, from an allow-listed host) and an optional
 * destination URL the window offers once read.
 */

export const INAPP_TEXT_MAX = 1000;
export const INAPP_TITLE_MAX = 100;

export const inAppContentSchema = z.object({
  appId: z.string(),
  title: z.string(),
  /** The notification's body when set apart from the message; null: the message itself. */
  notificationBody: z.string().nullable(),
  imageUrl: z.string().nullable(),
  linkUrl: z.string().nullable(),
});
export type InAppContent = z.infer<typeof inAppContentSchema>;

/** Hosts images may come from; empty allows any https host. `http:` is allowed only for localhost (development). */
export function checkImageUrl(raw: string, allowedHosts: string[], field: string): string {
  let url: URL | null = null;
  try {
    url = new URL(raw.trim());
  } catch {
    url = null;
  }
  const local = url && ['localhost', '127.0.0.1'].includes(url.hostname);
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && local)) || url.username) {
    throw new DomainError('INVALID_URL', `${field}: the image must be an https URL.`, field);
  }
  if (allowedHosts.length > 0 && !allowedHosts.includes(url.hostname.toLowerCase())) {
    throw new DomainError(
      'INVALID_URL',
      `${field}: images may come from ${allowedHosts.join(', ')} only (INAPP_IMAGE_HOSTS).`,
      field,
    );
  }
  return url.toString();
}

export function checkLinkUrl(raw: string, field: string): string {
  let url: URL | null = null;
  try {
    url = new URL(raw.trim());
  } catch {
    url = null;
  }
  if (!url || !['https:', 'http:'].includes(url.protocol) || url.username || raw.length > 2048) {
    throw new DomainError('INVALID_URL', `${field}: must be an http(s) URL of at most 2048 characters.`, field);
  }
  return url.toString();
}

/** The text with the consumer's variables, the handoff's defaults filling what a consumer did not give. */
export function renderInApp(
  text: string,
  variables: Record<string, unknown> | undefined,
  defaults: Record<string, string>,
): RenderResult {
  return renderSms(text, { ...defaults, ...(variables ?? {}) });
}

/** What an In-App send carries to the provider beyond the text: whom, through which app and provider, and how. */
export interface PushContent {
  accountId: string;
  messageId: string;
  appId: string;
  deviceId: string;
  consumerRef: string;
  consumerId: string;
  /** The device's push token, sealed with the consumer's key (the provider opens it). */
  sealedToken: string;
  title: string;
  /** The notification's body: set apart, or the message itself. */
  body: string;
  imageUrl: string | null;
  provider: 'push-proxy' | 'fcm';
  proxyUrl: string | null;
  fcmProjectId: string | null;
}
