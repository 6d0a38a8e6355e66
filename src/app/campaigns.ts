import { randomUUID } from 'node:crypto';
import * as account from '../domain/account.ts';
import { requireSkill, type WeeklyWindow } from '../domain/account-settings.ts';
import * as campaign from '../domain/campaign.ts';
import { DomainError } from '../domain/decider.ts';
import { DAILY_CAP } from '../domain/dispatch.ts';
import { lookbackHours } from '../domain/handoff.ts';
import {
  DEFAULT_OPT_OUT_TEXT,
  normalizePhone,
  placeholdersOf,
  renderSms,
  SMS_MAX_LENGTH,
  smsLength,
  smsSegments,
  withoutPlaceholders,
} from '../domain/sms.ts';
import type { EventStore, GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { publishCampaign } from './campaign-lifecycle.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';
import { loadHandoff } from './handoffs.ts';

export interface CampaignDeps {
  store: EventStore;
  db: Db;
  personalData: PersonalData;
}

export interface RecipientInput {
  phone: unknown;
  variables?: Record<string, unknown>;
  /** Refused already by the caller's own reading (a LivePerson consumer entry's code): kept for its index. */
  rejected?: string;
}

/** What a new campaign of every channel gives: its name, routing, consent and schedule. */
export interface NewCampaign {
  accountId: string;
  name: string;
  skillId?: string | null;
  lookbackHours?: number;
  routeAllWithinLookback?: boolean;
  source: 'web' | 'api';
  handoffId?: string | null;
  consent: boolean;
  /** What the sender states about the recipients' consent (F14); the source's default when absent or blank. */
  consentStatement?: string;
  /** Publish at once (or at `sendAt`); otherwise it stays a draft. */
  publish: boolean;
  sendAt?: Date;
  /** A receiving window for this campaign only, instead of the account's. */
  window?: WeeklyWindow;
  now?: Date;
}

export interface NewSmsCampaign extends NewCampaign {
  senderId: string;
  text: string;
  optOutText?: string;
  recipients: RecipientInput[];
  /**
   * A recipient whose variables take the text past 140 characters is sent as several messages (LivePerson's API)
   * instead of being refused with SMS_TOO_LONG (the web tool). The text itself keeps the 140 limit either way.
   */
  longTextAsSegments?: boolean;
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
  const valid: ValidRecipient[] = [];
  const seen = new Set<string>();
  for (const [index, recipient] of input.recipients.entries()) {
    if (recipient.rejected) {
      outcomes.push({ index, phoneNumber: null, error: recipient.rejected });
      continue;
    }
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
  return appendCampaign(
    deps,
    {
      accountId: input.accountId,
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
    { valid, outcomes, ...phoneRecipients, publish: input.publish, sendAt: input.sendAt, now },
    context,
  );
}

/** A recipient that passed its checks, to be sealed under its consumer's key. */
export interface ValidRecipient {
  index: number;
  phone: string;
  variables: Record<string, string>;
  ref: string;
  segments: number;
}

/** How a campaign to numbers (SMS, WhatsApp) seals its recipients and answers the accepted ones. */
export const phoneRecipients = {
  seal: (recipient: ValidRecipient) => ({ phone: recipient.phone, variables: recipient.variables }),
  accepted: (recipient: ValidRecipient, messageId: string): RecipientOutcome => ({
    index: recipient.index,
    phoneNumber: recipient.phone,
    messageId,
  }),
};

/**
 * Appends a checked campaign of any channel: its draft, its recipients sealed in batches (each as `seal` says,
 * under its consumer's key and the campaign's, so that retention can shred them), and its publication when asked;
 * answers each recipient's outcome in input order.
 */
export async function appendCampaign<
  Recipient extends { index: number; ref: string; segments?: number },
  Outcome extends { index: number },
>(
  deps: CampaignDeps,
  draft: Omit<campaign.CampaignDrafted, 'campaignId'>,
  input: {
    valid: Recipient[];
    outcomes: Outcome[];
    seal: (recipient: Recipient) => unknown;
    accepted: (recipient: Recipient, messageId: string) => Outcome;
    publish: boolean;
    sendAt?: Date;
    now: Date;
  },
  context: CommandContext,
) {
  const { valid, outcomes, now } = input;
  const campaignId = randomUUID().replace(/-/g, '');
  const stream = campaign.campaignStream(campaignId);
  let position: GlobalPosition | null = (
    await handleCommand(
      deps.store,
      stream,
      campaign,
      {
        type: 'DraftCampaign',
        ...draft,
        consentStatement: draft.consentStatement ?? DEFAULT_CONSENT_STATEMENT[draft.source],
        campaignId,
      },
      context,
    )
  ).position;

  // Sealed as the campaign's copy: shredded with the campaign at the end of the retention period (F14).
  const sealFor = await deps.personalData.campaignSealer(
    draft.accountId,
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
        accountId: draft.accountId,
        campaignId,
        rows: valid.map((recipient) => recipient.index),
        recipients: valid.map((recipient) => ({
          consumerRef: recipient.ref,
          sealed: sealFor(recipient.ref, input.seal(recipient)),
          ...(recipient.segments !== undefined && recipient.segments > 1 ? { segments: recipient.segments } : {}),
        })),
      },
      context,
    );
    position = added.position ?? position;
    const byRef = new Map(valid.map((recipient) => [recipient.ref, recipient]));
    for (const event of added.events) {
      if (event.type !== 'RecipientsAdded') continue;
      for (const recipient of event.data.recipients) {
        outcomes.push(input.accepted(byRef.get(recipient.consumerRef)!, recipient.messageId));
      }
    }
  }
  if (input.publish && valid.length > 0) {
    const published = await publishCampaign(
      deps,
      { accountId: draft.accountId, campaignId, sendAt: input.sendAt, now },
      context,
    );
    position = published.position ?? position;
  }
  outcomes.sort((a, b) => a.index - b.index);
  return { campaignId, outcomes, position };
}

/** LivePerson's limit for `sendAt`: at most this far ahead. */
export const MAX_SCHEDULE_AHEAD_MS = 90 * 24 * 3_600_000;

/** Every campaign, whatever its channel: consent given, and a start in the future, at most 90 days ahead. */
export function checkConsentAndSchedule(request: { consent: boolean; sendAt?: Date; now: Date }): void {
  if (!request.consent) throw new DomainError('CONSENT_REQUIRED', 'consent must be true.', 'consent');
  const sendAt = request.sendAt?.getTime();
  const now = request.now.getTime();
  if (sendAt !== undefined && (Number.isNaN(sendAt) || sendAt <= now || sendAt > now + MAX_SCHEDULE_AHEAD_MS)) {
    throw new DomainError('INVALID_FIELD', 'sendAt must be in the future, at most 90 days ahead.', 'sendAt');
  }
}

/** A campaign as the API and the wizard ask for it: what to resolve against the account before it is created. */
export interface SmsCampaignRequest
  extends Omit<NewSmsCampaign, 'senderId' | 'text' | 'skillId' | 'lookbackHours' | 'routeAllWithinLookback'> {
  /** The sender by id (the wizard), or by number (the API's outboundNumber, else the handoff's). */
  senderId?: string;
  senderNumber?: string;
  /** The handoff (LivePerson's templateId) whose SMS body, opt-out, lookback and routing the campaign takes. */
  handoffId?: string;
  text?: string;
  /** A skill by id or name (any case). */
  skill?: string;
  /** The first recipient that gave no variables at all: refused when the text has placeholders (LivePerson). */
  recipientWithoutVariables?: number;
}

/**
 * Resolves a campaign request (consent, schedule, the handoff's SMS body, the skill, the sender) and creates the
 * campaign. The API and the web wizard both come here; the order of the checks is the API's.
 */
export async function requestSmsCampaign(deps: CampaignDeps, request: SmsCampaignRequest, context: CommandContext) {
  const { senderId, senderNumber, handoffId, skill, recipientWithoutVariables, ...rest } = request;
  const now = request.now ?? new Date();
  checkConsentAndSchedule({ consent: request.consent, sendAt: request.sendAt, now });
  const template = handoffId ? await smsTemplateOf(deps, request.accountId, handoffId) : null;
  const settings = foldStream(account, await deps.store.read(account.accountStream(request.accountId))).settings;
  const skillFound = skill === undefined ? undefined : requireSkill(settings, skill);
  let sender = senderId;
  if (sender === undefined) {
    const number = senderNumber ?? template?.channel.outboundnumber;
    if (!number) throw new DomainError('FIELDS_MISSING', 'Fields missing in request: outboundNumber', 'outboundNumber');
    const address = normalizePhone(number);
    sender = Object.entries(settings.senders).find(
      ([, found]) => found.channel === 'sms' && found.address === address,
    )?.[0];
    if (!sender) {
      throw new DomainError('UNKNOWN_SENDER', 'outboundNumber is not an SMS sender of this account.', 'outboundNumber');
    }
  }
  const text = template?.body.content ?? request.text ?? '';
  if (recipientWithoutVariables !== undefined && placeholdersOf(text).length > 0) {
    throw new DomainError(
      'FIELDS_MISSING',
      'Fields missing in request: variables',
      `consumers.${recipientWithoutVariables}.variables`,
    );
  }
  const created = await createSmsCampaign(
    deps,
    {
      ...rest,
      senderId: sender,
      text,
      ...(template
        ? {
            optOutText: template.body.optOut ?? DEFAULT_OPT_OUT_TEXT,
            lookbackHours: lookbackHours(template.config),
            routeAllWithinLookback: template.config.routeAllWithinLookback,
            handoffId,
          }
        : {}),
      skillId: skillFound?.[0] ?? null,
      now,
    },
    context,
  );
  return { ...created, skillId: skillFound?.[0] ?? null };
}

/** The handoff as the write side knows it (a just-created one counts), with its SMS channel and body. */
async function smsTemplateOf(deps: Pick<CampaignDeps, 'store'>, accountId: string, handoffId: string) {
  const config = await loadHandoff(deps, accountId, handoffId);
  if (!config) {
    throw new DomainError('TEMPLATE_NOT_FOUND', 'templateId is not a handoff of this account.', 'templateId');
  }
  const channel = config.channels.find((candidate) => candidate.type === 'sms-twilio');
  const body = channel?.messageComponents.find((component) => component.type === 'body');
  if (!channel || !body) {
    throw new DomainError('TEMPLATE_HAS_NO_SMS', 'The handoff has no SMS channel with a body.', 'templateId');
  }
  return { config, channel, body };
}

export { cancelCampaign, loadCampaign, publishCampaign, startDueCampaigns } from './campaign-lifecycle.ts';
