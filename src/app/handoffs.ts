import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import * as account from '../domain/account.ts';
import { DomainError } from '../domain/decider.ts';
import * as handoff from '../domain/handoff.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';
import { checkSmsComponent } from './handoff-sms.ts';

interface Deps {
  store: EventStore;
  db: Db;
}

/** LivePerson's handoff ids are short; ours fit its `templateId` limit of 32 characters. */
const newHandoffId = () => randomBytes(8).toString('hex');

function parseConfig(input: unknown): handoff.HandoffConfig {
  const parsed = handoff.handoffConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new DomainError('INVALID_FIELD', `${field}: ${issue.message}`, 400, field);
}

/**
 * The checks that need the account: the SMS sender must be one of its SMS numbers, the skill one of its skills,
 * the SMS text must fit 140 characters with its opt-out line, and the name must be free.
 */
async function checkAgainstAccount(deps: Deps, accountId: string, config: handoff.HandoffConfig, handoffId: string) {
  const state = foldStream(account, await deps.store.read(account.accountStream(accountId)));
  if (state.status === 'none') throw new DomainError('ACCOUNT_NOT_FOUND', 'No such account.', 404);
  for (const [index, channel] of config.channels.entries()) {
    if (channel.type === 'sms-twilio') {
      const senders = Object.values(state.settings.senders).filter((sender) => sender.channel === 'sms');
      if (!channel.outboundnumber) {
        throw new DomainError(
          'FIELD_REQUIRED',
          'The SMS channel needs an outboundnumber.',
          400,
          `channels.${index}.outboundnumber`,
        );
      }
      const wanted = channel.outboundnumber.replace(/^\+?/, '+');
      if (!senders.some((sender) => sender.address === wanted)) {
        throw new DomainError(
          'UNKNOWN_SENDER',
          `${channel.outboundnumber} is not an SMS sender of this account.`,
          400,
          `channels.${index}.outboundnumber`,
        );
      }
      checkSmsComponent(channel, index);
    }
  }
  if (config.skill) {
    const skills = Object.entries(state.settings.skills);
    if (!skills.some(([id, skill]) => id === config.skill || skill.name === config.skill)) {
      throw new DomainError('UNKNOWN_SKILL', `${config.skill} is not a skill of this account.`, 400, 'skill');
    }
  }
  const taken = await deps
    .db('handoffs')
    .where({ account_id: accountId })
    .whereRaw('lower(name) = lower(?)', [config.name])
    .whereNot({ handoff_id: handoffId })
    .whereNull('archived_at')
    .first('handoff_id');
  if (taken) throw new DomainError('HANDOFF_NAME_TAKEN', `A handoff named ${config.name} already exists.`, 409, 'name');
}

export async function createHandoff(deps: Deps, accountId: string, input: unknown, context: CommandContext) {
  const config = parseConfig(input);
  const handoffId = newHandoffId();
  await checkAgainstAccount(deps, accountId, config, handoffId);
  const result = await handleCommand(
    deps.store,
    handoff.handoffStream(handoffId),
    handoff,
    { type: 'CreateHandoff', accountId, handoffId, config },
    context,
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
  await checkAgainstAccount(deps, accountId, config, handoffId);
  const result = await handleCommand(
    deps.store,
    handoff.handoffStream(handoffId),
    handoff,
    { type: 'UpdateHandoff', accountId, handoffId, config },
    context,
  );
  return { ...result, config };
}

export function archiveHandoff(deps: Deps, accountId: string, handoffId: string, context: CommandContext) {
  return handleCommand(
    deps.store,
    handoff.handoffStream(handoffId),
    handoff,
    { type: 'ArchiveHandoff', accountId, handoffId },
    context,
  );
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
