import { randomUUID } from 'node:crypto';
import * as account from '../domain/account.ts';
import type { WeeklyWindow } from '../domain/account-settings.ts';
import * as campaign from '../domain/campaign.ts';
import { DomainError } from '../domain/decider.ts';
import { DAILY_CAP } from '../domain/dispatch.ts';
import {
  DEFAULT_OPT_OUT_TEXT,
  normalizePhone,
  renderSms,
  SMS_MAX_LENGTH,
  smsLength,
  smsSegments,
  withoutPlaceholders,
} from '../domain/sms.ts';
import type { EventStore, GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

export interface CampaignDeps {
  store: EventStore;
  db: Db;
  personalData: PersonalData;
}

export interface RecipientInput {
  phone: unknown;
  variables?: Record<string, unknown>;
}

export interface NewSmsCampaign {
  accountId: string;
  name: string;
  senderId: string;
  text: string;
  optOutText?: string;
  skillId?: string | null;
  lookbackHours?: number;
  routeAllWithinLookback?: boolean;
  source: 'web' | 'api';
  handoffId?: string | null;
  consent: boolean;
  /** What the sender states about the recipients' consent (F14); the source's default when absent or blank. */
  consentStatement?: string;
  recipients: RecipientInput[];
  /** Publish at once (or at `sendAt`); otherwise it stays a draft. */
  publish: boolean;
  sendAt?: Date;
  /** A receiving window for this campaign only, instead of the account's. */
  window?: WeeklyWindow;
  /**
   * A recipient whose variables take the text past 140 characters is sent as several messages (LivePerson's API)
   * instead of being refused with SMS_TOO_LONG (the web tool). The text itself keeps the 140 limit either way.
   */
  longTextAsSegments?: boolean;
  now?: Date;
}

export interface RecipientOutcome {
  index: number;
  phoneNumber: string | null;
  messageId?: string;
  error?: string;
}

const DEFAULT_LOOKBACK_HOURS = 30 * 24;

/** What a campaign's consent says when its sender gave no statement of their own (LivePerson's `consent: true`). */
export const DEFAULT_CONSENT_STATEMENT = {
  api: 'The API client confirmed (consent: true) that every recipient agreed to receive these messages.',
  web: 'These consumers agreed to receive messages from us.',
} as const;

/**
 * The recipients this account may still send today on SMS (F15): the cap less what was sent and what still
 * waits. The dispatcher's own count (daily_send_counters) is the one that holds; this refuses a campaign up front.
 */
async function dailyHeadroom(db: Db, accountId: string, now: Date): Promise<number> {
  const [sent, waiting] = await Promise.all([
    db('daily_send_counters')
      .where({ account_id: accountId, channel: 'sms', day: now.toISOString().slice(0, 10) })
      .first<{ count: number } | undefined>('count'),
    db('campaign_messages')
      .where({ account_id: accountId, channel: 'sms' })
      .whereIn('status', ['queued', 'deferred', 'retrying', 'sending'])
      .count<{ count: string }[]>('* as count'),
  ]);
  return DAILY_CAP - (sent?.count ?? 0) - Number(waiting[0]?.count ?? 0);
}

/**
 * Creates an SMS campaign: checks the account, sender and text, validates every recipient (a bad one never stops
 * the others), seals numbers and variables under each consumer's key, and appends the campaign with its
 * recipients in batches of 1,000. Per-recipient codes are the API's (INVALID_NUMBER, DUPLICATE_NUMBER, …).
 */
export async function createSmsCampaign(deps: CampaignDeps, input: NewSmsCampaign, context: CommandContext) {
  const accountState = foldStream(account, await deps.store.read(account.accountStream(input.accountId)));
  if (accountState.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.');
  if (!accountState.proactiveActive) {
    throw new DomainError('PROACTIVE_NOT_ACTIVE', 'Activate Proactive for this account before sending campaigns.');
  }
  const sender = accountState.settings.senders[input.senderId];
  if (sender?.channel !== 'sms') {
    throw new DomainError('UNKNOWN_SENDER', 'outboundNumber is not an SMS sender of this account.', 'outboundNumber');
  }
  const name = input.name.trim();
  if (!name || name.length > 255)
    throw new DomainError('INVALID_FIELD', 'campaignName must be 1 to 255 characters.', 'campaignName');
  const optOutText = input.optOutText ?? DEFAULT_OPT_OUT_TEXT;
  const templateLength = smsLength(withoutPlaceholders(input.text), optOutText);
  if (!input.text.trim() || templateLength > SMS_MAX_LENGTH) {
    throw new DomainError(
      'SMS_TOO_LONG',
      `The SMS text with its opt-out line must be 1 to ${SMS_MAX_LENGTH} characters (it is ${templateLength}).`,
      'text',
    );
  }
  if (input.recipients.length > 100_000) {
    throw new DomainError('TOO_MANY_RECIPIENTS', 'A campaign takes at most 100,000 recipients.', 'consumers');
  }

  const outcomes: RecipientOutcome[] = [];
  const valid: {
    index: number;
    phone: string;
    variables: Record<string, string>;
    ref: string;
    segments: number;
  }[] = [];
  const seen = new Set<string>();
  for (const [index, recipient] of input.recipients.entries()) {
    const phone = normalizePhone(recipient.phone);
    if (!phone) {
      outcomes.push({ index, phoneNumber: null, error: 'INVALID_NUMBER' });
      continue;
    }
    const rendered = renderSms(input.text, recipient.variables);
    if (!rendered.ok) {
      outcomes.push({ index, phoneNumber: phone, error: rendered.error });
      continue;
    }
    const segments = smsSegments(rendered.text, optOutText);
    if (segments > 1 && !input.longTextAsSegments) {
      outcomes.push({ index, phoneNumber: phone, error: 'SMS_TOO_LONG' });
      continue;
    }
    if (seen.has(phone)) {
      outcomes.push({ index, phoneNumber: phone, error: 'DUPLICATE_NUMBER' });
      continue;
    }
    seen.add(phone);
    const ref = await deps.personalData.consumerRef(input.accountId, phone);
    valid.push({ index, phone, variables: (recipient.variables ?? {}) as Record<string, string>, ref, segments });
  }

  const now = input.now ?? new Date();
  if (input.publish && (await dailyHeadroom(deps.db, input.accountId, now)) < valid.length) {
    throw new DomainError(
      'DAILY_LIMIT_EXCEEDED',
      `At most ${DAILY_CAP.toLocaleString('en-US')} SMS recipients per day per account; this campaign would exceed it.`,
      'consumers',
    );
  }
  const campaignId = randomUUID().replace(/-/g, '');
  const stream = campaign.campaignStream(campaignId);
  let position: GlobalPosition | null = (
    await handleCommand(
      deps.store,
      stream,
      campaign,
      {
        type: 'DraftCampaign',
        accountId: input.accountId,
        campaignId,
        name,
        channel: 'sms',
        senderId: input.senderId,
        senderAddress: sender.address,
        skillId: input.skillId ?? null,
        text: input.text,
        optOutText,
        lookbackHours: input.lookbackHours ?? DEFAULT_LOOKBACK_HOURS,
        routeAllWithinLookback: input.routeAllWithinLookback ?? false,
        source: input.source,
        handoffId: input.handoffId ?? null,
        consent: input.consent,
        consentStatement: input.consentStatement?.trim() || DEFAULT_CONSENT_STATEMENT[input.source],
        ...(input.window ? { window: input.window } : {}),
      },
      context,
    )
  ).position;

  // Sealed as the campaign's copy: shredded with the campaign at the end of the retention period (F14).
  const sealFor = await deps.personalData.campaignSealer(
    input.accountId,
    campaignId,
    valid.map((recipient) => recipient.ref),
  );
  if (valid.length > 0) {
    const added = await handleCommand(
      deps.store,
      stream,
      campaign,
      {
        type: 'AddRecipients',
        accountId: input.accountId,
        campaignId,
        rows: valid.map((recipient) => recipient.index),
        recipients: valid.map((recipient) => ({
          consumerRef: recipient.ref,
          sealed: sealFor(recipient.ref, { phone: recipient.phone, variables: recipient.variables }),
          ...(recipient.segments > 1 ? { segments: recipient.segments } : {}),
        })),
      },
      context,
    );
    position = added.position ?? position;
    const byRef = new Map(valid.map((recipient) => [recipient.ref, recipient]));
    for (const event of added.events) {
      if (event.type !== 'RecipientsAdded') continue;
      for (const recipient of event.data.recipients) {
        const source = byRef.get(recipient.consumerRef)!;
        outcomes.push({ index: source.index, phoneNumber: source.phone, messageId: recipient.messageId });
      }
    }
  }
  if (input.publish && valid.length > 0) {
    const published = await publishCampaign(
      deps,
      { accountId: input.accountId, campaignId, sendAt: input.sendAt, now },
      context,
    );
    position = published.position ?? position;
  }
  outcomes.sort((a, b) => a.index - b.index);
  return { campaignId, outcomes, position };
}

export async function publishCampaign(
  deps: Pick<CampaignDeps, 'store'>,
  input: { accountId: string; campaignId: string; sendAt?: Date; now?: Date },
  context: CommandContext,
) {
  const now = (input.now ?? new Date()).toISOString();
  const stream = campaign.campaignStream(input.campaignId);
  const published = await handleCommand(
    deps.store,
    stream,
    campaign,
    {
      type: 'Publish',
      accountId: input.accountId,
      campaignId: input.campaignId,
      now,
      sendAt: input.sendAt?.toISOString(),
    },
    context,
  );
  if (published.events.some((event) => event.type === 'CampaignScheduled')) return published;
  // "Send now": the campaign starts at once; the expander then queues its recipients.
  return handleCommand(
    deps.store,
    stream,
    campaign,
    { type: 'Start', accountId: input.accountId, campaignId: input.campaignId, now },
    context,
  );
}

export function cancelCampaign(
  deps: Pick<CampaignDeps, 'store'>,
  input: { accountId: string; campaignId: string; cancelledBy: string; reason?: string },
  context: CommandContext,
) {
  return handleCommand(
    deps.store,
    campaign.campaignStream(input.campaignId),
    campaign,
    {
      type: 'Cancel',
      accountId: input.accountId,
      campaignId: input.campaignId,
      cancelledBy: input.cancelledBy,
      reason: input.reason ?? 'Cancelled by a user',
    },
    context,
  );
}

/** A campaign as its stream says (the write side's view, not a read model). */
export async function loadCampaign(deps: Pick<CampaignDeps, 'store'>, campaignId: string) {
  return foldStream(campaign, await deps.store.read(campaign.campaignStream(campaignId)));
}

/**
 * The scheduler's job (F20): starts every scheduled campaign whose time has come. A campaign cancelled or
 * started meanwhile is refused by its decider; that is logged and the others go on.
 */
export async function startDueCampaigns(
  deps: Pick<CampaignDeps, 'store' | 'db'> & { log: Logger },
  now: Date,
): Promise<number> {
  const due = await deps
    .db('campaigns')
    .where('status', 'scheduled')
    .andWhere('send_at', '<=', now)
    .select('account_id', 'campaign_id');
  let started = 0;
  for (const row of due) {
    const ids = { accountId: row.account_id as string, campaignId: row.campaign_id as string };
    try {
      const result = await handleCommand(
        deps.store,
        campaign.campaignStream(ids.campaignId),
        campaign,
        { type: 'Start', ...ids, now: now.toISOString() },
        { actor: 'system:scheduler' },
      );
      if (result.events.length > 0) started += 1;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      deps.log.info({ ...ids, code: error.code }, 'a scheduled campaign was not started');
    }
  }
  return started;
}
