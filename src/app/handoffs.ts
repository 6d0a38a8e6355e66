import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import * as account from '../domain/account.ts';
import { findSkill } from '../domain/account-settings.ts';
import { DomainError } from '../domain/decider.ts';
import * as handoff from '../domain/handoff.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';
import { checkInAppChannel, imageHostsOf } from './handoff-inapp.ts';
import { checkSmsComponent } from './handoff-sms.ts';
import { checkWhatsAppChannel } from './handoff-whatsapp.ts';
import { loadInAppApps } from './inapp.ts';

interface Deps {
  store: EventStore;
  db: Db;
  /** INAPP_IMAGE_HOSTS: where In-App images may come from. */
  config?: { INAPP_IMAGE_HOSTS?: string };
}

/** LivePerson's handoff ids are short; ours fit its `templateId` limit of 32 characters. */
const newHandoffId = () => randomBytes(8).toString('hex');

function parseConfig(input: unknown): handoff.HandoffConfig {
  const parsed = handoff.handoffConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new DomainError('INVALID_FIELD', `${field}: ${issue.message}`, field);
}

/**
 * The checks that need the account: the SMS sender must be one of its SMS numbers, the skill one of its skills,
 * the SMS text must fit 140 characters with its opt-out line. (The name is reserved separately.)
 */
async function checkAgainstAccount(deps: Deps, accountId: string, config: handoff.HandoffConfig) {
  const state = foldStream(account, await deps.store.read(account.accountStream(accountId)));
  if (state.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.');
  for (const [index, channel] of config.channels.entries()) {
    if (channel.type === 'sms-twilio') {
      const senders = Object.values(state.settings.senders).filter((sender) => sender.channel === 'sms');
      if (!channel.outboundnumber) {
        throw new DomainError(
          'FIELD_REQUIRED',
          'The SMS channel needs an outboundnumber.',
          `channels.${index}.outboundnumber`,
        );
      }
      const wanted = channel.outboundnumber.replace(/^\+?/, '+');
      if (!senders.some((sender) => sender.address === wanted)) {
        throw new DomainError(
          'UNKNOWN_SENDER',
          `${channel.outboundnumber} is not an SMS sender of this account.`,
          `channels.${index}.outboundnumber`,
        );
      }
      checkSmsComponent(channel, index);
    }
    if (channel.type === 'inapp') {
      const apps = await loadInAppApps(deps, accountId);
      checkInAppChannel(channel, index, apps, imageHostsOf(deps.config?.INAPP_IMAGE_HOSTS));
    }
  }
  await checkWhatsAppChannel(deps, state, config);
  if (config.skill) {
    if (!findSkill(state.settings, config.skill)) {
      throw new DomainError('UNKNOWN_SKILL', `${config.skill} is not a skill of this account.`, 'skill');
    }
  }
}

const nameKey = (name: string) => name.trim().toLowerCase();

/**
 * Takes the name for this handoff (a primary key per account and lower-cased name), or refuses it when another
 * handoff holds it. Returns whether this call made the reservation, so that a failed append can undo it.
 */
async function reserveName(deps: Deps, accountId: string, name: string, handoffId: string): Promise<boolean> {
  const inserted = await deps
    .db('handoff_names')
    .insert({ account_id: accountId, name_key: nameKey(name), handoff_id: handoffId })
    .onConflict(['account_id', 'name_key'])
    .ignore()
    .returning('handoff_id');
  if (inserted.length > 0) return true;
  const holder = await deps
    .db('handoff_names')
    .where({ account_id: accountId, name_key: nameKey(name) })
    .first<{ handoff_id: string } | undefined>('handoff_id');
  if (holder?.handoff_id === handoffId) return false;
  throw new DomainError('HANDOFF_NAME_TAKEN', `A handoff named ${name} already exists.`, 'name');
}

async function releaseNames(deps: Deps, accountId: string, handoffId: string, keep?: string): Promise<void> {
  const release = deps.db('handoff_names').where({ account_id: accountId, handoff_id: handoffId });
  if (keep !== undefined) release.whereNot({ name_key: nameKey(keep) });
  await release.delete();
}

/** Runs `append` with the name reserved; a failed append gives back a reservation it made. */
async function withName<T>(
  deps: Deps,
  accountId: string,
  name: string,
  handoffId: string,
  append: () => Promise<T>,
): Promise<T> {
  const reserved = await reserveName(deps, accountId, name, handoffId);
  try {
    return await append();
  } catch (error) {
    if (reserved) {
      await deps
        .db('handoff_names')
        .where({ account_id: accountId, name_key: nameKey(name), handoff_id: handoffId })
        .delete();
    }
    throw error;
  }
}

export async function createHandoff(deps: Deps, accountId: string, input: unknown, context: CommandContext) {
  const config = parseConfig(input);
  const handoffId = newHandoffId();
  await checkAgainstAccount(deps, accountId, config);
  const result = await withName(deps, accountId, config.name, handoffId, () =>
    handleCommand(
      deps.store,
      handoff.handoffStream(handoffId),
      handoff,
      { type: 'CreateHandoff', accountId, handoffId, config },
      context,
    ),
  );
  return { ...result, handoffId, config };
}

export async function updateHandoff(
  deps: Deps,
  accountId: string,
  handoffId: string,
  input: unknown,
  context: CommandContext,
) {
  const config = parseConfig(input);
  await checkAgainstAccount(deps, accountId, config);
  const result = await withName(deps, accountId, config.name, handoffId, () =>
    handleCommand(
      deps.store,
      handoff.handoffStream(handoffId),
      handoff,
      { type: 'UpdateHandoff', accountId, handoffId, config },
      context,
    ),
  );
  await releaseNames(deps, accountId, handoffId, config.name);
  return { ...result, config };
}

export async function archiveHandoff(deps: Deps, accountId: string, handoffId: string, context: CommandContext) {
  const result = await handleCommand(
    deps.store,
    handoff.handoffStream(handoffId),
    handoff,
    { type: 'ArchiveHandoff', accountId, handoffId },
    context,
  );
  await releaseNames(deps, accountId, handoffId);
  return result;
}

/** The handoff as the write side knows it (campaign creation reads this, not a lagging read model). */
export async function loadHandoff(deps: Pick<Deps, 'store'>, accountId: string, handoffId: string) {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(handoffId)) return null;
  const state = foldStream(handoff, await deps.store.read(handoff.handoffStream(handoffId)));
  if (state.status !== 'active' || state.accountId !== accountId || !state.config) return null;
  return state.config;
}

export const handoffListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  channel: z.enum(handoff.HANDOFF_CHANNEL_TYPES).optional(),
});
