import { DomainError } from '../domain/decider.ts';
import type { HandoffConfig } from '../domain/handoff.ts';
import { appOf, type InAppApps } from '../domain/inapp.ts';
import { checkImageUrl, checkLinkUrl, INAPP_TEXT_MAX, INAPP_TITLE_MAX } from '../domain/inapp-message.ts';
import { placeholdersOf } from '../domain/sms.ts';

type Channel = HandoffConfig['channels'][number];

/** The hosts in-app images may come from (INAPP_IMAGE_HOSTS, comma-separated); empty: any https host. */
export const imageHostsOf = (setting: string | undefined) =>
  (setting ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);

/**
 * An In-App handoff names a registered app and carries a body (the message), optionally a title, an image from an
 * allowed host and a destination URL; the defaults it gives variables must be placeholders of its text.
 */
export function checkInAppChannel(channel: Channel, index: number, apps: InAppApps, imageHosts: string[]): void {
  const at = `channels.${index}`;
  if (!channel.appId) throw new DomainError('FIELD_REQUIRED', 'The In-App channel needs an appId.', `${at}.appId`);
  if (!appOf(apps, channel.appId)) {
    throw new DomainError('UNKNOWN_APP', `${channel.appId} is not an In-App app of this account.`, `${at}.appId`);
  }
  const component = (type: string) => {
    const position = channel.messageComponents.findIndex((candidate) => candidate.type === type);
    return {
      component: channel.messageComponents[position],
      field: `${at}.messageComponents.${Math.max(position, 0)}`,
    };
  };
  const body = component('body');
  if (!body.component || body.component.content.trim() === '') {
    throw new DomainError(
      'FIELD_REQUIRED',
      'The In-App channel needs a body component with content.',
      `${body.field}.content`,
    );
  }
  if (body.component.content.length > INAPP_TEXT_MAX) {
    throw new DomainError(
      'MESSAGE_TOO_LONG',
      `The In-App text is at most ${INAPP_TEXT_MAX} characters.`,
      `${body.field}.content`,
    );
  }
  const title = component('title');
  if (title.component && title.component.content.length > INAPP_TITLE_MAX) {
    throw new DomainError(
      'MESSAGE_TOO_LONG',
      `The title is at most ${INAPP_TITLE_MAX} characters.`,
      `${title.field}.content`,
    );
  }
  const image = component('image');
  if (image.component) checkImageUrl(image.component.content, imageHosts, `${image.field}.content`);
  if (channel.linkUrl) checkLinkUrl(channel.linkUrl, `${at}.linkUrl`);
  const used = new Set(placeholdersOf(body.component.content));
  const stray = Object.keys(channel.defaultVariables ?? {}).filter((name) => !used.has(name));
  if (stray.length > 0) {
    throw new DomainError(
      'UNDECLARED_VARIABLE',
      `The text has no placeholder for ${stray.join(', ')}.`,
      `${at}.defaultVariables`,
    );
  }
}

/** The In-App parts of a handoff's channel, as a campaign takes them. */
export function inAppPartsOf(channel: Channel) {
  const content = (type: string) => channel.messageComponents.find((candidate) => candidate.type === type)?.content;
  return {
    appId: channel.appId ?? '',
    text: content('body') ?? '',
    title: content('title') ?? '',
    imageUrl: content('image') ?? null,
    linkUrl: channel.linkUrl ?? null,
    defaults: channel.defaultVariables ?? {},
  };
}
