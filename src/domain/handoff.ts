import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

/**
 * F17: an API handoff is a named, reusable bundle of campaign configuration, used by id in API calls. Its JSON
 * uses the field names of LivePerson's Outbound Configuration API, so existing integrations keep working.
 */

export const handoffStream = (handoffId: string) => `handoff-${handoffId}`;

/** `wa` is LivePerson's name for WhatsApp; `whatsapp` is kept as its alias. */
export const HANDOFF_CHANNEL_TYPES = ['sms-twilio', 'whatsapp', 'wa', 'inapp'] as const;
export const isWhatsAppChannel = (type: string) => type === 'wa' || type === 'whatsapp';
export const DEFAULT_LOOKBACK_DAYS = 30;

const messageComponentSchema = z.object({
  type: z.enum(['body', 'header', 'footer', 'title', 'image']),
  content: z.string().max(1600),
  variables: z.array(z.string().max(64)).max(20).optional(),
  optOut: z.string().max(140).optional(),
});

export const handoffChannelSchema = z.object({
  type: z.enum(HANDOFF_CHANNEL_TYPES),
  language: z.string().max(16).optional(),
  outboundnumber: z.string().max(32).optional(),
  /** WhatsApp: the approved template's id (Outbound's, as GET /templates answers it). */
  templateId: z.string().max(64).optional(),
  /** The prioritized channel: how long WhatsApp's delivery receipt is awaited before the SMS goes instead. */
  fallbackTimeoutSeconds: z.number().int().min(1).max(604_800).optional(),
  /** In-App: the app (its bundle id, as registered in Settings), where tapping leads, and variables' defaults. */
  appId: z.string().max(255).optional(),
  linkUrl: z.string().max(2048).optional(),
  defaultVariables: z.record(z.string().max(64), z.string().max(1550)).optional(),
  messageComponents: z.array(messageComponentSchema).max(10).default([]),
});

/** The configuration as stored and as answered over the API (without `id`). */
export const handoffConfigSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9 _-]+$/, 'letters, digits, spaces, - and _ only'),
  skill: z.string().trim().max(255).nullable().default(null),
  lookbackPeriodDay: z.number().int().min(0).max(30).default(DEFAULT_LOOKBACK_DAYS),
  lookbackPeriodHour: z.number().int().min(0).max(23).default(0),
  routeAllWithinLookback: z.boolean().default(false),
  channels: z.array(handoffChannelSchema).min(1).max(3),
});
export type HandoffConfig = z.infer<typeof handoffConfigSchema>;

export const HandoffEvents = {
  HandoffCreated: z.object({ accountId: z.string(), handoffId: z.string(), config: handoffConfigSchema }),
  HandoffUpdated: z.object({ accountId: z.string(), handoffId: z.string(), config: handoffConfigSchema }),
  HandoffArchived: z.object({ accountId: z.string(), handoffId: z.string() }),
};
export type HandoffEvent = EventsOf<typeof HandoffEvents>;

export type HandoffCommand =
  | { type: 'CreateHandoff'; accountId: string; handoffId: string; config: HandoffConfig }
  | { type: 'UpdateHandoff'; accountId: string; handoffId: string; config: HandoffConfig }
  | { type: 'ArchiveHandoff'; accountId: string; handoffId: string };

export interface Handoff {
  status: 'none' | 'active' | 'archived';
  accountId: string;
  config: HandoffConfig | null;
}

export const initialState = (): Handoff => ({ status: 'none', accountId: '', config: null });

export function lookbackHours(config: Pick<HandoffConfig, 'lookbackPeriodDay' | 'lookbackPeriodHour'>): number {
  return config.lookbackPeriodDay * 24 + config.lookbackPeriodHour;
}

/** Rules that need more than the schema: lookback of at least an hour, one entry per channel type. */
function checkRules(config: HandoffConfig): void {
  if (lookbackHours(config) < 1) {
    throw new DomainError('INVALID_LOOKBACK', 'The lookback must be at least 1 hour.', 'lookbackPeriodHour');
  }
  const types = config.channels.map((channel) => (isWhatsAppChannel(channel.type) ? 'wa' : channel.type));
  if (new Set(types).size !== types.length) {
    throw new DomainError('DUPLICATE_CHANNEL', 'Each channel type may appear once.', 'channels');
  }
}

export const decide = (command: HandoffCommand, state: Handoff): HandoffEvent[] => {
  const { accountId, handoffId } = command;
  switch (command.type) {
    case 'CreateHandoff':
      if (state.status !== 'none') throw new DomainError('HANDOFF_EXISTS', 'That handoff id is taken.', 'id');
      checkRules(command.config);
      return [{ type: 'HandoffCreated', data: { accountId, handoffId, config: command.config } }];
    case 'UpdateHandoff':
      if (state.status === 'none' || state.accountId !== accountId) {
        throw new DomainError('HANDOFF_NOT_FOUND', 'No such handoff.', 'id');
      }
      if (state.status === 'archived') throw new DomainError('HANDOFF_ARCHIVED', 'An archived handoff cannot change.');
      checkRules(command.config);
      return [{ type: 'HandoffUpdated', data: { accountId, handoffId, config: command.config } }];
    case 'ArchiveHandoff':
      if (state.status === 'none' || state.accountId !== accountId) {
        throw new DomainError('HANDOFF_NOT_FOUND', 'No such handoff.', 'id');
      }
      if (state.status === 'archived') return [];
      return [{ type: 'HandoffArchived', data: { accountId, handoffId } }];
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Handoff, event: HandoffEvent): Handoff => {
  switch (event.type) {
    case 'HandoffCreated':
      return { status: 'active', accountId: event.data.accountId, config: event.data.config };
    case 'HandoffUpdated':
      return { ...state, config: event.data.config };
    case 'HandoffArchived':
      return { ...state, status: 'archived' };
    default:
      return assertNever(event);
  }
};
