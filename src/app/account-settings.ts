import { randomUUID } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import * as account from '../domain/account.ts';
import {
  type Channel,
  channelSchema,
  type SenderChannel,
  senderChannelSchema,
  type WeeklyWindow,
} from '../domain/account-settings.ts';
import { DomainError } from '../domain/decider.ts';
import { parseMediaHosts } from '../domain/whatsapp.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type CommandContext, handleCommand } from './handler.ts';

interface Deps {
  store: EventStore;
}

function run(deps: Deps, accountId: string, command: account.AccountCommand, context: CommandContext) {
  return handleCommand(deps.store, account.accountStream(accountId), account, command, context);
}

function parseChannel<T extends string>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  value: string,
  allowed: readonly string[],
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new DomainError('INVALID_CHANNEL', `channel must be one of ${allowed.join(', ')}.`, 'channel');
  return parsed.data as T;
}

/** F9: a Twilio number or WhatsApp sender of the account, each with its own rate (msg/s; 0 = no limit). */
export async function addSender(
  deps: Deps,
  input: { accountId: string; channel: string; address: string; label?: string; rate?: number },
  context: CommandContext,
) {
  const channel = parseChannel<SenderChannel>(senderChannelSchema, input.channel, ['sms', 'whatsapp']);
  const phone = parsePhoneNumberFromString(input.address.trim());
  if (!phone?.isValid()) {
    throw new DomainError(
      'INVALID_NUMBER',
      'address must be a valid phone number in E.164 form, e.g. +14155550100.',
      'address',
    );
  }
  const senderId = randomUUID();
  const result = await run(
    deps,
    input.accountId,
    {
      type: 'AddSender',
      accountId: input.accountId,
      senderId,
      channel,
      address: phone.number,
      label: input.label?.trim() || phone.formatInternational(),
      rate: input.rate ?? 1,
    },
    context,
  );
  return { ...result, senderId, address: phone.number };
}

export function removeSender(deps: Deps, input: { accountId: string; senderId: string }, context: CommandContext) {
  return run(deps, input.accountId, { type: 'RemoveSender', ...input }, context);
}

export function setSenderRate(
  deps: Deps,
  input: { accountId: string; senderId: string; rate: number },
  context: CommandContext,
) {
  return run(deps, input.accountId, { type: 'SetSenderRate', ...input }, context);
}

/** F15: the account's send rate per channel (default 10 msg/s; 0 = no limit). */
export function setSendRate(
  deps: Deps,
  input: { accountId: string; channel: string; rate: number },
  context: CommandContext,
) {
  const channel = parseChannel<Channel>(channelSchema, input.channel, ['sms', 'whatsapp', 'inapp']);
  return run(
    deps,
    input.accountId,
    { type: 'SetSendRate', accountId: input.accountId, channel, rate: input.rate },
    context,
  );
}

export async function addSkill(
  deps: Deps,
  input: { accountId: string; name: string; isDefault?: boolean },
  context: CommandContext,
) {
  const skillId = randomUUID();
  const result = await run(
    deps,
    input.accountId,
    { type: 'AddSkill', accountId: input.accountId, skillId, name: input.name, isDefault: input.isDefault ?? false },
    context,
  );
  return { ...result, skillId };
}

export function setReceivingWindow(
  deps: Deps,
  input: { accountId: string; channel: string; window: WeeklyWindow },
  context: CommandContext,
) {
  const channel = parseChannel<Channel>(channelSchema, input.channel, ['sms', 'whatsapp', 'inapp']);
  return run(
    deps,
    input.accountId,
    { type: 'SetReceivingWindow', accountId: input.accountId, channel, window: input.window },
    context,
  );
}

export function setDefaultTimeZone(
  deps: Deps,
  input: { accountId: string; timeZone: string },
  context: CommandContext,
) {
  if (!DateTime.now().setZone(input.timeZone).isValid) {
    throw new DomainError('INVALID_TIME_ZONE', 'timeZone must be an IANA zone such as Europe/London.', 'timeZone');
  }
  return run(deps, input.accountId, { type: 'SetDefaultTimeZone', ...input }, context);
}

/** F10: the country numbers written without a country code are read in; null or empty refuses them instead. */
export function setDefaultCountry(
  deps: Deps,
  input: { accountId: string; country: string | null },
  context: CommandContext,
) {
  return run(deps, input.accountId, { type: 'SetDefaultCountry', ...input }, context);
}

/** F18: how long an open conversation may stay idle before it is closed automatically. */
export function setConversationIdleTimeout(
  deps: Deps,
  input: { accountId: string; minutes: number },
  context: CommandContext,
) {
  return handleCommand(
    deps.store,
    account.accountStream(input.accountId),
    account,
    { type: 'SetConversationIdleTimeout', accountId: input.accountId, minutes: input.minutes },
    context,
  );
}

/** B4: check each number's line type through Twilio Lookup before its first send (landlines are skipped). */
export function setLineTypeCheck(
  deps: Deps,
  input: { accountId: string; enabled: boolean; cacheDays: number },
  context: CommandContext,
) {
  return run(
    deps,
    input.accountId,
    { type: 'SetLineTypeCheck', accountId: input.accountId, enabled: input.enabled, cacheDays: input.cacheDays },
    context,
  );
}

/** F5: the hosts a WhatsApp header's media may come from (empty: any https host), and the fallback's opt-out line. */
export function setWhatsAppSettings(
  deps: Deps,
  input: { accountId: string; mediaHosts: string | string[]; fallbackOptOut: boolean },
  context: CommandContext,
) {
  const mediaHosts = parseMediaHosts(input.mediaHosts);
  const command = { type: 'SetWhatsAppSettings' as const, accountId: input.accountId, mediaHosts };
  return run(deps, input.accountId, { ...command, fallbackOptOut: input.fallbackOptOut }, context);
}

/** F14: finished campaigns' message texts and variables are shredded this many days after they end (null: kept). */
export function setRetentionPeriod(
  deps: Deps,
  input: { accountId: string; days: number | null },
  context: CommandContext,
) {
  return run(
    deps,
    input.accountId,
    { type: 'SetRetentionPeriod', accountId: input.accountId, days: input.days },
    context,
  );
}
