import { z } from 'zod';
import { DomainError } from './decider.ts';
import { isCountry } from './phone-input.ts';
import { initialWhatsAppSettings, type WhatsAppSettings, WhatsAppSettingsEvents } from './whatsapp.ts';

/**
 * The sending configuration of an account: senders (F9), send rates (F15), skills (F8), receiving windows (F13)
 * and the default time zone. These events live on the account stream; account.ts folds them through here.
 */

export const CHANNELS = ['sms', 'whatsapp', 'inapp'] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

export const SENDER_CHANNELS = ['sms', 'whatsapp'] as const;
export const senderChannelSchema = z.enum(SENDER_CHANNELS);
export type SenderChannel = z.infer<typeof senderChannelSchema>;

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time as HH:MM');
/** A day's opening, `null` when closed. `end` is exclusive; `24:00` means midnight at the end of the day. */
export const dayWindowSchema = z.object({ start: timeOfDay, end: timeOfDay }).nullable();
export const weeklyWindowSchema = z.object(
  Object.fromEntries(WEEKDAYS.map((day) => [day, dayWindowSchema])) as Record<Weekday, typeof dayWindowSchema>,
);
export type WeeklyWindow = z.infer<typeof weeklyWindowSchema>;

export const DEFAULT_ACCOUNT_SEND_RATE = 10;

export const AccountSettingsEvents = {
  SenderAdded: z.object({
    accountId: z.string(),
    senderId: z.string(),
    channel: senderChannelSchema,
    address: z.string(),
    label: z.string(),
    /** Messages per second for this sender; 0 = no limit. */
    rate: z.number().min(0),
  }),
  SenderRemoved: z.object({ accountId: z.string(), senderId: z.string() }),
  SenderRateSet: z.object({ accountId: z.string(), senderId: z.string(), rate: z.number().min(0) }),
  SendRateSet: z.object({ accountId: z.string(), channel: channelSchema, rate: z.number().min(0) }),
  SkillAdded: z.object({ accountId: z.string(), skillId: z.string(), name: z.string(), isDefault: z.boolean() }),
  ReceivingWindowSet: z.object({ accountId: z.string(), channel: channelSchema, window: weeklyWindowSchema }),
  DefaultTimeZoneSet: z.object({ accountId: z.string(), timeZone: z.string() }),
  /** F10: the country a number written without its country code is read in (ISO 3166 alpha-2; null: refused). */
  DefaultCountrySet: z.object({ accountId: z.string(), country: z.string().nullable() }),
  ApiClientCreated: z.object({
    accountId: z.string(),
    clientId: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
  }),
  ApiClientRevoked: z.object({ accountId: z.string(), clientId: z.string() }),
  /** B6: where message status changes are POSTed (the signing secret is kept outside the events). */
  StatusWebhookSet: z.object({ accountId: z.string(), url: z.string() }),
  StatusWebhookRemoved: z.object({ accountId: z.string() }),
  /** F18: an open conversation with no activity for this long is closed automatically. */
  ConversationIdleTimeoutSet: z.object({ accountId: z.string(), minutes: z.number().int() }),
  ...WhatsAppSettingsEvents,
  /** B4: Twilio Lookup's line type before the first send to a number (landlines skipped), cached this many days. */
  LineTypeCheckSet: z.object({ accountId: z.string(), enabled: z.boolean(), cacheDays: z.number().int() }),
  /** F14: finished campaigns' message texts and variables are shredded this many days after they end (null: kept). */
  RetentionPeriodSet: z.object({ accountId: z.string(), days: z.number().int().nullable() }),
};

export const DEFAULT_CONVERSATION_IDLE_MINUTES = 24 * 60;
export const DEFAULT_LINE_TYPE_CACHE_DAYS = 30;
export const MAX_RETENTION_DAYS = 3650;

export const API_SCOPES = [
  'campaigns:write',
  'campaigns:read',
  'handoffs:read',
  'handoffs:write',
  'reporting:read',
  'gdpr:write',
  'gdpr:read',
  'templates:read',
  'inapp:write',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export interface Sender {
  channel: SenderChannel;
  address: string;
  label: string;
  rate: number;
}

export interface AccountSettings {
  senders: Record<string, Sender>;
  sendRates: Partial<Record<Channel, number>>;
  skills: Record<string, { name: string }>;
  defaultSkillId: string | null;
  windows: Partial<Record<Channel, WeeklyWindow>>;
  defaultTimeZone: string;
  defaultCountry: string | null;
  apiClients: Record<string, { name: string; scopes: string[]; revoked: boolean }>;
  statusWebhookUrl: string | null;
  conversationIdleMinutes: number;
  lineTypeCheck: { enabled: boolean; cacheDays: number };
  whatsapp: WhatsAppSettings;
  retentionDays: number | null;
}

/** A skill named by its id or its name, in any case (names are unique case-insensitively); undefined if none. */
export function findSkill(settings: AccountSettings, idOrName: string): [string, { name: string }] | undefined {
  const wanted = idOrName.trim().toLowerCase();
  return Object.entries(settings.skills).find(([id, skill]) => id === idOrName || skill.name.toLowerCase() === wanted);
}

/** A campaign's skill by id or name (any case); refused naming the field when the account has no such skill. */
export function requireSkill(settings: AccountSettings, idOrName: string): [string, { name: string }] {
  const found = findSkill(settings, idOrName);
  if (!found) {
    throw new DomainError(
      'UNKNOWN_SKILL',
      `skill ${JSON.stringify(idOrName)} is not a skill of this account (by id or name).`,
      'skill',
    );
  }
  return found;
}

export const initialSettings = (): AccountSettings => ({
  senders: {},
  sendRates: {},
  skills: {},
  defaultSkillId: null,
  windows: {},
  defaultTimeZone: 'UTC',
  defaultCountry: null,
  apiClients: {},
  statusWebhookUrl: null,
  conversationIdleMinutes: DEFAULT_CONVERSATION_IDLE_MINUTES,
  lineTypeCheck: { enabled: false, cacheDays: DEFAULT_LINE_TYPE_CACHE_DAYS },
  whatsapp: initialWhatsAppSettings(),
  retentionDays: null,
});

export type AccountSettingsCommand =
  | {
      type: 'AddSender';
      accountId: string;
      senderId: string;
      channel: SenderChannel;
      address: string;
      label: string;
      rate: number;
    }
  | { type: 'RemoveSender'; accountId: string; senderId: string }
  | { type: 'SetSenderRate'; accountId: string; senderId: string; rate: number }
  | { type: 'SetSendRate'; accountId: string; channel: Channel; rate: number }
  | { type: 'AddSkill'; accountId: string; skillId: string; name: string; isDefault: boolean }
  | { type: 'SetReceivingWindow'; accountId: string; channel: Channel; window: WeeklyWindow }
  | { type: 'SetDefaultTimeZone'; accountId: string; timeZone: string }
  | { type: 'SetDefaultCountry'; accountId: string; country: string | null }
  | { type: 'CreateApiClient'; accountId: string; clientId: string; name: string; scopes: string[] }
  | { type: 'RevokeApiClient'; accountId: string; clientId: string }
  | { type: 'SetStatusWebhook'; accountId: string; url: string }
  | { type: 'RemoveStatusWebhook'; accountId: string }
  | { type: 'SetConversationIdleTimeout'; accountId: string; minutes: number }
  | { type: 'SetLineTypeCheck'; accountId: string; enabled: boolean; cacheDays: number }
  | ({ type: 'SetWhatsAppSettings'; accountId: string } & WhatsAppSettings)
  | { type: 'SetRetentionPeriod'; accountId: string; days: number | null };

export type SettingsEvent = {
  [K in keyof typeof AccountSettingsEvents]: { type: K; data: z.infer<(typeof AccountSettingsEvents)[K]> };
}[keyof typeof AccountSettingsEvents];

function requireRate(rate: number, field = 'rate'): void {
  if (!Number.isFinite(rate) || rate < 0 || rate > 10_000) {
    throw new DomainError(
      'INVALID_RATE',
      `${field} must be a number of messages per second from 0 (no limit) to 10000.`,
      field,
    );
  }
}

function requireSender(settings: AccountSettings, senderId: string): Sender {
  const sender = settings.senders[senderId];
  if (!sender) throw new DomainError('SENDER_NOT_FOUND', 'No such sender in this account.', 'senderId');
  return sender;
}

export function decideSettings(command: AccountSettingsCommand, settings: AccountSettings): SettingsEvent[] {
  const { accountId } = command;
  switch (command.type) {
    case 'AddSender': {
      requireRate(command.rate);
      const taken = Object.values(settings.senders).some(
        (sender) => sender.channel === command.channel && sender.address === command.address,
      );
      if (taken) {
        throw new DomainError(
          'SENDER_EXISTS',
          `${command.address} is already a ${command.channel} sender of this account.`,
          'address',
        );
      }
      const { senderId, channel, address, label, rate } = command;
      return [{ type: 'SenderAdded', data: { accountId, senderId, channel, address, label, rate } }];
    }
    case 'RemoveSender':
      requireSender(settings, command.senderId);
      return [{ type: 'SenderRemoved', data: { accountId, senderId: command.senderId } }];
    case 'SetSenderRate': {
      requireRate(command.rate);
      const sender = requireSender(settings, command.senderId);
      if (sender.rate === command.rate) return [];
      return [{ type: 'SenderRateSet', data: { accountId, senderId: command.senderId, rate: command.rate } }];
    }
    case 'SetSendRate':
      requireRate(command.rate);
      if (settings.sendRates[command.channel] === command.rate) return [];
      return [{ type: 'SendRateSet', data: { accountId, channel: command.channel, rate: command.rate } }];
    case 'AddSkill': {
      const name = command.name.trim();
      if (!name || name.length > 255)
        throw new DomainError('INVALID_SKILL', 'name must be 1 to 255 characters.', 'name');
      if (Object.values(settings.skills).some((skill) => skill.name.toLowerCase() === name.toLowerCase())) {
        throw new DomainError('SKILL_EXISTS', `A skill named ${name} already exists.`, 'name');
      }
      const isDefault = command.isDefault || settings.defaultSkillId === null;
      return [{ type: 'SkillAdded', data: { accountId, skillId: command.skillId, name, isDefault } }];
    }
    case 'SetReceivingWindow': {
      for (const day of WEEKDAYS) {
        const window = command.window[day];
        if (window && window.start >= window.end) {
          throw new DomainError('INVALID_WINDOW', `${day}: the window must end after it starts.`, `window.${day}`);
        }
      }
      return [{ type: 'ReceivingWindowSet', data: { accountId, channel: command.channel, window: command.window } }];
    }
    case 'SetDefaultTimeZone':
      if (settings.defaultTimeZone === command.timeZone) return [];
      return [{ type: 'DefaultTimeZoneSet', data: { accountId, timeZone: command.timeZone } }];
    case 'SetDefaultCountry': {
      const country = command.country?.trim().toUpperCase() || null;
      if (country !== null && !isCountry(country)) {
        throw new DomainError(
          'INVALID_COUNTRY',
          'country must be a two-letter country code such as US or GB, or empty for none.',
          'country',
        );
      }
      if (settings.defaultCountry === country) return [];
      return [{ type: 'DefaultCountrySet', data: { accountId, country } }];
    }
    case 'CreateApiClient': {
      const name = command.name.trim();
      if (!name || name.length > 100)
        throw new DomainError('INVALID_NAME', 'name must be 1 to 100 characters.', 'name');
      const unknown = command.scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
      if (command.scopes.length === 0 || unknown.length > 0) {
        throw new DomainError(
          'INVALID_SCOPES',
          `scopes must be one or more of ${API_SCOPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}.`,
          'scopes',
        );
      }
      const scopes = [...new Set(command.scopes)];
      return [{ type: 'ApiClientCreated', data: { accountId, clientId: command.clientId, name, scopes } }];
    }
    case 'RevokeApiClient': {
      const client = settings.apiClients[command.clientId];
      if (!client) throw new DomainError('API_CLIENT_NOT_FOUND', 'No such API client in this account.', 'clientId');
      if (client.revoked) return [];
      return [{ type: 'ApiClientRevoked', data: { accountId, clientId: command.clientId } }];
    }
    case 'SetStatusWebhook': {
      const url = command.url.trim();
      let parsed: URL | null = null;
      try {
        parsed = new URL(url);
      } catch {
        parsed = null;
      }
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || url.length > 2048 || parsed.username) {
        throw new DomainError('INVALID_URL', 'url must be an http(s) URL of at most 2048 characters.', 'url');
      }
      return [{ type: 'StatusWebhookSet', data: { accountId, url } }];
    }
    case 'RemoveStatusWebhook':
      if (!settings.statusWebhookUrl) return [];
      return [{ type: 'StatusWebhookRemoved', data: { accountId } }];
    case 'SetConversationIdleTimeout':
      if (!Number.isInteger(command.minutes) || command.minutes < 5 || command.minutes > 30 * 24 * 60) {
        throw new DomainError(
          'INVALID_TIMEOUT',
          'minutes must be a whole number from 5 to 43200 (30 days).',
          'minutes',
        );
      }
      if (settings.conversationIdleMinutes === command.minutes) return [];
      return [{ type: 'ConversationIdleTimeoutSet', data: { accountId, minutes: command.minutes } }];
    case 'SetLineTypeCheck': {
      if (!Number.isInteger(command.cacheDays) || command.cacheDays < 1 || command.cacheDays > 365) {
        throw new DomainError('INVALID_CACHE_DAYS', 'cacheDays must be a whole number from 1 to 365.', 'cacheDays');
      }
      const { enabled, cacheDays } = command;
      const current = settings.lineTypeCheck;
      if (current.enabled === enabled && current.cacheDays === cacheDays) return [];
      return [{ type: 'LineTypeCheckSet', data: { accountId, enabled, cacheDays } }];
    }
    case 'SetWhatsAppSettings': {
      const { mediaHosts, fallbackOptOut } = command;
      return [{ type: 'WhatsAppSettingsSet', data: { accountId, mediaHosts, fallbackOptOut } }];
    }
    case 'SetRetentionPeriod': {
      const { days } = command;
      if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)) {
        throw new DomainError(
          'INVALID_RETENTION',
          `The retention period is a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or none.`,
          'retentionDays',
        );
      }
      if (settings.retentionDays === days) return [];
      return [{ type: 'RetentionPeriodSet', data: { accountId, days } }];
    }
  }
}

export function evolveSettings(settings: AccountSettings, event: SettingsEvent): AccountSettings {
  switch (event.type) {
    case 'SenderAdded': {
      const { senderId, channel, address, label, rate } = event.data;
      return { ...settings, senders: { ...settings.senders, [senderId]: { channel, address, label, rate } } };
    }
    case 'SenderRemoved': {
      const { [event.data.senderId]: _removed, ...senders } = settings.senders;
      return { ...settings, senders };
    }
    case 'SenderRateSet': {
      const sender = settings.senders[event.data.senderId];
      if (!sender) return settings;
      return {
        ...settings,
        senders: { ...settings.senders, [event.data.senderId]: { ...sender, rate: event.data.rate } },
      };
    }
    case 'SendRateSet':
      return { ...settings, sendRates: { ...settings.sendRates, [event.data.channel]: event.data.rate } };
    case 'SkillAdded':
      return {
        ...settings,
        skills: { ...settings.skills, [event.data.skillId]: { name: event.data.name } },
        defaultSkillId: event.data.isDefault ? event.data.skillId : settings.defaultSkillId,
      };
    case 'ReceivingWindowSet':
      return { ...settings, windows: { ...settings.windows, [event.data.channel]: event.data.window } };
    case 'DefaultTimeZoneSet':
      return { ...settings, defaultTimeZone: event.data.timeZone };
    case 'DefaultCountrySet':
      return { ...settings, defaultCountry: event.data.country };
    case 'ApiClientCreated': {
      const { clientId, name, scopes } = event.data;
      return { ...settings, apiClients: { ...settings.apiClients, [clientId]: { name, scopes, revoked: false } } };
    }
    case 'ApiClientRevoked': {
      const client = settings.apiClients[event.data.clientId];
      if (!client) return settings;
      return {
        ...settings,
        apiClients: { ...settings.apiClients, [event.data.clientId]: { ...client, revoked: true } },
      };
    }
    case 'StatusWebhookSet':
      return { ...settings, statusWebhookUrl: event.data.url };
    case 'StatusWebhookRemoved':
      return { ...settings, statusWebhookUrl: null };
    case 'ConversationIdleTimeoutSet':
      return { ...settings, conversationIdleMinutes: event.data.minutes };
    case 'LineTypeCheckSet':
      return { ...settings, lineTypeCheck: { enabled: event.data.enabled, cacheDays: event.data.cacheDays } };
    case 'WhatsAppSettingsSet':
      return {
        ...settings,
        whatsapp: { mediaHosts: event.data.mediaHosts, fallbackOptOut: event.data.fallbackOptOut },
      };
    case 'RetentionPeriodSet':
      return { ...settings, retentionDays: event.data.days };
  }
}
