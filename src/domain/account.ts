import { z } from 'zod';
import {
  type AccountSettings,
  type AccountSettingsCommand,
  AccountSettingsEvents,
  decideSettings,
  evolveSettings,
  initialSettings,
} from './account-settings.ts';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

export const BOT_USER_NAMES = ['prmsg-bot-user-1', 'prmsg-bot-user-2'] as const;

export const ROLES = ['admin', 'campaign_manager', 'agent_manager', 'agent', 'auditor'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const ROLE_LABELS: Record<Role | 'bot', string> = {
  admin: 'Admin',
  campaign_manager: 'Campaign Manager',
  agent_manager: 'Agent Manager',
  agent: 'Agent',
  auditor: 'Auditor',
  bot: 'Bot',
};

export const accountIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (at most 64)');

export const accountStream = (accountId: string) => `account-${accountId}`;

export const AccountEvents = {
  AccountCreated: z.object({
    accountId: z.string(),
    name: z.string(),
    defaultTimeZone: z.string(),
  }),
  ProactiveActivated: z.object({ accountId: z.string() }),
  UserAdded: z.object({
    accountId: z.string(),
    userId: z.string(),
    kind: z.enum(['person', 'bot']),
    /** People sign in with their email; bots have none. */
    email: z.string().nullable(),
    name: z.string(),
    role: z.union([roleSchema, z.literal('bot')]),
  }),
  RoleChanged: z.object({ accountId: z.string(), userId: z.string(), role: roleSchema, previousRole: roleSchema }),
  UserRemoved: z.object({ accountId: z.string(), userId: z.string() }),
  ...AccountSettingsEvents,
};
export type AccountEvent = EventsOf<typeof AccountEvents>;

export type AccountCommand =
  | { type: 'CreateAccount'; accountId: string; name: string; defaultTimeZone: string }
  | { type: 'ActivateProactive'; accountId: string; botUserIds: readonly [string, string] }
  | { type: 'AddUser'; accountId: string; userId: string; email: string; name: string; role: Role }
  | { type: 'ChangeRole'; accountId: string; userId: string; role: Role }
  | { type: 'RemoveUser'; accountId: string; userId: string }
  | AccountSettingsCommand;

export interface AccountUser {
  kind: 'person' | 'bot';
  email: string | null;
  name: string;
  role: Role | 'bot';
}

export interface Account {
  status: 'none' | 'open';
  accountId: string;
  name: string;
  proactiveActive: boolean;
  users: Record<string, AccountUser>;
  settings: AccountSettings;
}

export const initialState = (): Account => ({
  status: 'none',
  accountId: '',
  name: '',
  proactiveActive: false,
  users: {},
  settings: initialSettings(),
});

/** Bot users still present; sending needs both (PRODUCT F1). */
export function missingBotUsers(state: Account): string[] {
  const present = new Set(
    Object.values(state.users)
      .filter((user) => user.kind === 'bot')
      .map((user) => user.name),
  );
  return BOT_USER_NAMES.filter((name) => !present.has(name));
}

function requireAccount(state: Account): void {
  if (state.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.');
}

function requireUser(state: Account, userId: string): AccountUser {
  const user = state.users[userId];
  if (!user) throw new DomainError('USER_NOT_FOUND', 'No such user in this account.', 'userId');
  return user;
}

function adminCount(state: Account): number {
  return Object.values(state.users).filter((user) => user.role === 'admin').length;
}

export const decide = (command: AccountCommand, state: Account): AccountEvent[] => {
  switch (command.type) {
    case 'AddSender':
    case 'RemoveSender':
    case 'SetSenderRate':
    case 'SetSendRate':
    case 'AddSkill':
    case 'SetReceivingWindow':
    case 'SetDefaultTimeZone':
    case 'SetDefaultCountry':
    case 'CreateApiClient':
    case 'RevokeApiClient':
    case 'SetStatusWebhook':
    case 'RemoveStatusWebhook':
    case 'SetConversationIdleTimeout':
    case 'SetLineTypeCheck':
    case 'SetWhatsAppSettings':
    case 'SetRetentionPeriod':
      requireAccount(state);
      return decideSettings(command, state.settings);
    case 'CreateAccount': {
      if (state.status !== 'none') {
        throw new DomainError('ACCOUNT_EXISTS', `Account ${command.accountId} already exists.`, 'accountId');
      }
      return [
        {
          type: 'AccountCreated',
          data: { accountId: command.accountId, name: command.name, defaultTimeZone: command.defaultTimeZone },
        },
      ];
    }
    case 'ActivateProactive': {
      requireAccount(state);
      const missing = missingBotUsers(state);
      if (state.proactiveActive && missing.length === 0) {
        throw new DomainError('PROACTIVE_ALREADY_ACTIVE', 'Proactive messaging is already active for this account.');
      }
      const events: AccountEvent[] = [];
      if (!state.proactiveActive) events.push({ type: 'ProactiveActivated', data: { accountId: command.accountId } });
      BOT_USER_NAMES.forEach((name, index) => {
        if (!missing.includes(name)) return;
        events.push({
          type: 'UserAdded',
          data: {
            accountId: command.accountId,
            userId: command.botUserIds[index]!,
            kind: 'bot',
            email: null,
            name,
            role: 'bot',
          },
        });
      });
      return events;
    }
    case 'AddUser': {
      requireAccount(state);
      const email = command.email.trim().toLowerCase();
      if (Object.values(state.users).some((user) => user.email === email)) {
        throw new DomainError('USER_EMAIL_TAKEN', `A user with email ${email} already exists.`, 'email');
      }
      if (state.users[command.userId]) throw new DomainError('USER_EXISTS', 'That user id is taken.', 'userId');
      return [
        {
          type: 'UserAdded',
          data: {
            accountId: command.accountId,
            userId: command.userId,
            kind: 'person',
            email,
            name: command.name,
            role: command.role,
          },
        },
      ];
    }
    case 'ChangeRole': {
      requireAccount(state);
      if (!roleSchema.safeParse(command.role).success) {
        throw new DomainError('INVALID_ROLE', `role must be one of ${ROLES.join(', ')}.`, 'role');
      }
      const user = requireUser(state, command.userId);
      if (user.role === 'bot') throw new DomainError('BOT_ROLE_FIXED', 'Bot users have no role to change.');
      if (user.role === command.role) return [];
      if (user.role === 'admin' && adminCount(state) === 1) {
        throw new DomainError('LAST_ADMIN', 'The account needs at least one admin.', 'role');
      }
      return [
        {
          type: 'RoleChanged',
          data: { accountId: command.accountId, userId: command.userId, role: command.role, previousRole: user.role },
        },
      ];
    }
    case 'RemoveUser': {
      requireAccount(state);
      const user = requireUser(state, command.userId);
      if (user.role === 'admin' && adminCount(state) === 1) {
        throw new DomainError('LAST_ADMIN', 'The account needs at least one admin.', 'userId');
      }
      return [{ type: 'UserRemoved', data: { accountId: command.accountId, userId: command.userId } }];
    }
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Account, event: AccountEvent): Account => {
  switch (event.type) {
    case 'SenderAdded':
    case 'SenderRemoved':
    case 'SenderRateSet':
    case 'SendRateSet':
    case 'SkillAdded':
    case 'ReceivingWindowSet':
    case 'DefaultTimeZoneSet':
    case 'DefaultCountrySet':
    case 'ApiClientCreated':
    case 'ApiClientRevoked':
    case 'StatusWebhookSet':
    case 'StatusWebhookRemoved':
    case 'ConversationIdleTimeoutSet':
    case 'LineTypeCheckSet':
    case 'WhatsAppSettingsSet':
    case 'RetentionPeriodSet':
      return { ...state, settings: evolveSettings(state.settings, event) };
    case 'AccountCreated':
      return {
        ...state,
        status: 'open',
        accountId: event.data.accountId,
        name: event.data.name,
        settings: { ...state.settings, defaultTimeZone: event.data.defaultTimeZone },
      };
    case 'ProactiveActivated':
      return { ...state, proactiveActive: true };
    case 'UserAdded': {
      const { userId, kind, email, name, role } = event.data;
      return { ...state, users: { ...state.users, [userId]: { kind, email, name, role } } };
    }
    case 'RoleChanged': {
      const user = state.users[event.data.userId];
      if (!user) return state;
      return { ...state, users: { ...state.users, [event.data.userId]: { ...user, role: event.data.role } } };
    }
    case 'UserRemoved': {
      const { [event.data.userId]: _removed, ...users } = state.users;
      return { ...state, users };
    }
    default:
      return assertNever(event);
  }
};
