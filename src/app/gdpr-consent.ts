import { z } from 'zod';
import * as consumer from '../domain/consumer.ts';
import { comparePositions, type EventStore, type GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { waitForProjection } from '../projections/wait.ts';
import { type ConsumerIdentityInput, resolveConsumer } from './gdpr.ts';
import { type CommandContext, handleCommand } from './handler.ts';

/**
 * Consent (F14): a consumer's opt-in and opt-out history per channel, whichever way each change arrived (an SMS
 * keyword, the provider's 21610, the API, the web tool), and recording a change by hand. An opt-out applies to
 * every sender of the account, as a STOP does.
 */

export interface ConsentDeps {
  store: EventStore;
  db: Db;
  personalData: PersonalData;
}

export const consentChangeSchema = z
  .object({
    phone: z.string().max(32).optional(),
    consumerId: z.string().min(1).max(128).optional(),
    optedOut: z.boolean(),
    channel: z.enum(['sms', 'whatsapp', 'inapp']).default('sms'),
  })
  .strict();

export async function recordConsentChange(
  deps: ConsentDeps,
  accountId: string,
  input: ConsumerIdentityInput & { optedOut: boolean; channel: string },
  via: 'api' | 'web',
  context: CommandContext,
) {
  const { ref } = await resolveConsumer(deps.personalData, accountId, {
    ...(input.phone !== undefined ? { phone: input.phone } : {}),
    ...(input.consumerId !== undefined ? { consumerId: input.consumerId } : {}),
  });
  return handleCommand(
    deps.store,
    consumer.consumerStream(accountId, ref),
    consumer,
    {
      type: input.optedOut ? 'OptOut' : 'OptIn',
      accountId,
      consumerRef: ref,
      keyword: null,
      channel: input.channel,
      via,
    },
    context,
  );
}

/**
 * The consumer's current opt-out state and every change, oldest first; with `after` (a change just recorded),
 * including it: the store's head can lag behind an append while older transactions are open.
 */
export async function consentHistory(
  deps: ConsentDeps,
  accountId: string,
  input: ConsumerIdentityInput,
  after: GlobalPosition | null = null,
) {
  const { ref } = await resolveConsumer(deps.personalData, accountId, input);
  const visible = await deps.store.headPosition();
  const head = comparePositions(after, visible) > 0 ? after : visible;
  if (head) await waitForProjection(deps.db, ['opt-outs', 'consent-history'], head, { timeoutMs: 5000 });
  const current = await deps
    .db('opt_outs')
    .where({ account_id: accountId, consumer_ref: ref })
    .first('opted_out', 'channel', 'via', 'changed_at');
  const history = await deps
    .db('consent_history')
    .where({ account_id: accountId, consumer_ref: ref })
    .orderBy('at')
    .select('opted_out', 'keyword', 'channel', 'via', 'at');
  return {
    optedOut: current?.opted_out ?? false,
    history: history.map((row) => ({
      optedOut: row.opted_out as boolean,
      keyword: row.keyword as string | null,
      channel: row.channel as string,
      via: row.via as string,
      at: new Date(row.at).toISOString(),
    })),
  };
}
