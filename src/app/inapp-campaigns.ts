import * as account from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import { appOf } from '../domain/inapp.ts';
import { checkImageUrl, checkLinkUrl, INAPP_TEXT_MAX, renderInApp } from '../domain/inapp-message.ts';
import { appendCampaign, type CampaignDeps, type NewCampaign } from './campaigns.ts';
import { type CommandContext, foldStream } from './handler.ts';
import { imageHostsOf } from './handoff-inapp.ts';
import { inAppConsumerIdSchema, loadInAppApps } from './inapp.ts';

/**
 * An In-App campaign (F6): recipients are the brand's consumer ids (LivePerson's `consumerContent.inapp`), each
 * sealed with its variables under the consumer's and the campaign's key (the handoff's defaults fill what a
 * consumer leaves out).
 * Whether a consumer has a device is decided when the message is due (Skipped `no-device`): a device may register
 * before a scheduled send.
 */

export interface NewInAppCampaign extends NewCampaign {
  appId: string;
  text: string;
  title: string;
  notificationBody?: string | null;
  imageUrl?: string | null;
  linkUrl?: string | null;
  defaults?: Record<string, string>;
  recipients: { consumerId: unknown; variables?: Record<string, unknown> }[];
  imageHosts?: string;
}

export interface InAppRecipientOutcome {
  index: number;
  consumerId: string | null;
  messageId?: string;
  error?: string;
}

/** What an In-App message's recipient is sealed as (the dispatcher and the window open it). */
export interface InAppRecipient {
  consumerId: string;
  variables: Record<string, string>;
}

export const MISSING_INAPP = 'MISSING_CONSUMER_INFORMATION=INAPP';

export async function createInAppCampaign(deps: CampaignDeps, input: NewInAppCampaign, context: CommandContext) {
  const accountState = foldStream(account, await deps.store.read(account.accountStream(input.accountId)));
  if (accountState.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.');
  if (!accountState.proactiveActive) {
    throw new DomainError('PROACTIVE_NOT_ACTIVE', 'Activate Proactive for this account before sending campaigns.');
  }
  const apps = await loadInAppApps(deps, input.accountId);
  if (!appOf(apps, input.appId))
    throw new DomainError('UNKNOWN_APP', 'The app is not an In-App app of this account.', 'appId');
  const name = input.name.trim();
  if (!name || name.length > 255)
    throw new DomainError('INVALID_FIELD', 'campaignName must be 1 to 255 characters.', 'campaignName');
  if (!input.text.trim() || input.text.length > INAPP_TEXT_MAX) {
    throw new DomainError('MESSAGE_TOO_LONG', `The In-App text must be 1 to ${INAPP_TEXT_MAX} characters.`, 'text');
  }
  const imageUrl = input.imageUrl ? checkImageUrl(input.imageUrl, imageHostsOf(input.imageHosts), 'imageUrl') : null;
  const linkUrl = input.linkUrl ? checkLinkUrl(input.linkUrl, 'linkUrl') : null;
  if (input.recipients.length > 100_000) {
    throw new DomainError('TOO_MANY_RECIPIENTS', 'A campaign takes at most 100,000 recipients.', 'consumers');
  }
  const defaults = input.defaults ?? {};
  const outcomes: InAppRecipientOutcome[] = [];
  const valid: { index: number; recipient: InAppRecipient; ref: string }[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of input.recipients.entries()) {
    const id = inAppConsumerIdSchema.safeParse(entry.consumerId);
    if (!id.success) {
      outcomes.push({ index, consumerId: null, error: MISSING_INAPP });
      continue;
    }
    const consumerId = id.data;
    const rendered = renderInApp(input.text, entry.variables, defaults);
    if (!rendered.ok) {
      outcomes.push({ index, consumerId, error: rendered.error });
      continue;
    }
    if (seen.has(consumerId)) {
      outcomes.push({ index, consumerId, error: 'DUPLICATE_CONSUMER' });
      continue;
    }
    seen.add(consumerId);
    const variables = { ...defaults, ...(entry.variables ?? {}) } as Record<string, string>;
    const ref = await deps.personalData.inAppConsumerRef(input.accountId, consumerId);
    valid.push({ index, recipient: { consumerId, variables }, ref });
  }

  return appendCampaign(
    deps,
    {
      accountId: input.accountId,
      name,
      channel: 'inapp',
      senderId: input.appId,
      senderAddress: input.appId,
      skillId: input.skillId ?? null,
      text: input.text,
      optOutText: '',
      lookbackHours: input.lookbackHours ?? 30 * 24,
      routeAllWithinLookback: input.routeAllWithinLookback ?? false,
      source: input.source,
      handoffId: input.handoffId ?? null,
      consent: input.consent,
      ...(input.consentStatement?.trim() ? { consentStatement: input.consentStatement.trim() } : {}),
      ...(input.window ? { window: input.window } : {}),
      inapp: {
        appId: input.appId,
        title: input.title,
        notificationBody: input.notificationBody ?? null,
        imageUrl,
        linkUrl,
      },
    },
    {
      valid,
      outcomes,
      seal: (entry) => entry.recipient,
      accepted: (entry, messageId): InAppRecipientOutcome => ({
        index: entry.index,
        consumerId: entry.recipient.consumerId,
        messageId,
      }),
      publish: input.publish,
      sendAt: input.sendAt,
      now: input.now ?? new Date(),
    },
    context,
  );
}
