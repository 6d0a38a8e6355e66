import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { projections } from '../../projections/index.ts';
import type { MessageRedactor } from '../channels/twilio-redaction.ts';
import type { Config } from '../config.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import * as message from '../domain/message.ts';
import { normalizePhone } from '../domain/sms.ts';
import { comparePositions, type EventStore, type GlobalPosition } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { KEY_CACHE_STALENESS_MS, type PersonalData } from '../infra/personal-data.ts';
import { readCheckpoints, waitForProjection } from '../projections/wait.ts';
import { type CommandContext, foldStream, handleCommand } from './handler.ts';

/**
 * GDPR erasure (F14, DESIGN §2) by crypto-shredding. The consumer's key goes first, so nothing sealed for them
 * can be opened from then on (the dispatcher skips such a message `erased`); ConsumerErased then tells every read
 * model to redact. Before the erasure is acknowledged, every message still waiting is skipped and every send in
 * flight has finished, so no message goes out afterwards; the provider's copies are redacted too.
 *
 * An unknown number is answered the same way (202, an erasure id that becomes done) and changes nothing: the
 * answer must not tell whether the number was known.
 */

export interface GdprDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  config: Pick<Config, 'DISPATCH_LEASE_MS'>;
  personalData: PersonalData;
  redactor: MessageRedactor;
}

/** `phone` (E.164 or LivePerson's digits with the country code) or `consumerId` (the in-app consumer id). */
export const consumerIdentitySchema = z
  .object({
    phone: z.string().max(32).optional(),
    consumerId: z.string().min(1).max(128).optional(),
  })
  .strict();
export type ConsumerIdentityInput = z.infer<typeof consumerIdentitySchema>;

export interface ConsumerIdentity {
  ref: string;
  phone: string | null;
  consumerId: string | null;
}

/** The consumer a request names, as a ref; a clear error naming the field otherwise. */
export async function resolveConsumer(
  personalData: PersonalData,
  accountId: string,
  input: ConsumerIdentityInput,
): Promise<ConsumerIdentity> {
  const given = [input.phone, input.consumerId].filter((value) => value !== undefined && value !== '');
  if (given.length !== 1) {
    throw new DomainError('CONSUMER_REQUIRED', 'Give exactly one of phone or consumerId.', 'phone');
  }
  if (input.phone) {
    const phone = normalizePhone(input.phone);
    if (!phone) {
      throw new DomainError(
        'INVALID_NUMBER',
        'phone must be a phone number with its country code (E.164 such as +14155550100, or 14155550100).',
        'phone',
      );
    }
    return { ref: await personalData.consumerRef(accountId, phone), phone, consumerId: null };
  }
  const consumerId = input.consumerId!.trim();
  if (consumerId === '') throw new DomainError('INVALID_FIELD', 'consumerId must not be blank.', 'consumerId');
  return { ref: await personalData.inAppConsumerRef(accountId, consumerId), phone: null, consumerId };
}

/** Whether the account holds anything about the consumer: a live key, or a consumer stream since any erasure. */
export async function holdsConsumer(deps: Pick<GdprDeps, 'store' | 'personalData'>, accountId: string, ref: string) {
  if (await deps.personalData.hasKey(accountId, ref)) return true;
  const state = foldStream(consumer, await deps.store.read(consumer.consumerStream(accountId, ref)));
  return state.exists && !state.erased;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function requestErasure(
  deps: GdprDeps,
  accountId: string,
  input: ConsumerIdentityInput,
  context: CommandContext,
): Promise<{ erasureId: string }> {
  const identity = await resolveConsumer(deps.personalData, accountId, input);
  const erasureId = randomUUID();
  const requestedAt = new Date();
  const known = await holdsConsumer(deps, accountId, identity.ref);
  await deps.db('gdpr_erasures').insert({
    erasure_id: erasureId,
    account_id: accountId,
    requested_by: context.actor,
    requested_at: requestedAt,
  });
  let position: GlobalPosition | null = await deps.store.headPosition();
  if (known) position = (await shred(deps, accountId, identity.ref, erasureId, requestedAt, context)) ?? position;
  if (identity.phone) await scrubDrafts(deps.db, accountId, identity.phone);
  // Every process's key cache forgets the consumer within this time; unknown numbers wait too, so the time taken
  // does not tell them apart.
  await sleep(KEY_CACHE_STALENESS_MS + 100);
  let pending: string[] = [];
  if (known) {
    await skipWaitingMessages(deps, accountId, identity.ref, context);
    if (identity.phone) pending = await redactAtProvider(deps, accountId, identity.ref, identity.phone);
  }
  await deps
    .db('gdpr_erasures')
    .where({ erasure_id: erasureId })
    .update({
      commit_position: position?.commit.toString() ?? null,
      prepare_position: position?.prepare.toString() ?? null,
      applied_at: pending.length === 0 ? deps.db.fn.now() : null,
      provider_pending: JSON.stringify(pending),
      provider_attempted_at: deps.db.fn.now(),
    });
  deps.log.info({ accountId, erasureId, requestedBy: context.actor }, 'consumer erasure requested');
  return { erasureId };
}

/** Deletes the key, closes the open conversation and appends ConsumerErased; its position. */
async function shred(
  deps: GdprDeps,
  accountId: string,
  ref: string,
  erasureId: string,
  requestedAt: Date,
  context: CommandContext,
): Promise<GlobalPosition | null> {
  await deps.personalData.erase(accountId, ref);
  await deps.db('line_types').where({ account_id: accountId, consumer_ref: ref }).delete();
  const stream = consumer.consumerStream(accountId, ref);
  const state = foldStream(consumer, await deps.store.read(stream));
  if (state.openConversationId) {
    try {
      await handleCommand(
        deps.store,
        conversation.conversationStream(state.openConversationId),
        conversation,
        {
          type: 'CloseConversation',
          accountId,
          conversationId: state.openConversationId,
          by: context.actor,
          reason: 'consumer-erased',
          now: new Date().toISOString(),
        },
        context,
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }
  const erased = await handleCommand(
    deps.store,
    stream,
    consumer,
    {
      type: 'Erase',
      accountId,
      consumerRef: ref,
      requestedBy: context.actor,
      erasureId,
      requestedAt: requestedAt.toISOString(),
    },
    context,
  );
  return erased.position;
}

/**
 * Personal data the app keeps outside events: a wizard's parsed recipient list that names the number (a draft,
 * parsed again on demand) and stored API answers that echo it (an idempotent replay then reads "erased").
 */
async function scrubDrafts(db: Db, accountId: string, phone: string): Promise<void> {
  await db('campaign_uploads')
    .where({ account_id: accountId })
    .whereRaw('recipients @> ?::jsonb', [JSON.stringify([{ phone }])])
    .delete();
  for (const form of [phone, phone.slice(1)]) {
    await db('idempotency_keys')
      .where({ account_id: accountId })
      .whereRaw('strpos(response_body::text, ?) > 0', [JSON.stringify(form)])
      .update({
        response_body: db.raw('replace(response_body::text, ?, ?)::jsonb', [JSON.stringify(form), '"erased"']),
      });
  }
}

const NOT_DONE = ['queued', 'deferred', 'sending'];

/**
 * Skips every message of the consumer that still waits, and waits out each send in flight (its outcome is
 * recorded within the dispatch lease). A skip appended first makes the dispatcher's own start fail on the
 * expected version, so it can never send that message.
 */
async function skipWaitingMessages(deps: GdprDeps, accountId: string, ref: string, context: CommandContext) {
  const head = await deps.store.headPosition();
  if (head) await waitForProjection(deps.db, 'campaign-messages', head, { timeoutMs: 10_000 });
  const rows: { message_id: string; campaign_id: string }[] = await deps
    .db('campaign_messages')
    .where({ account_id: accountId, consumer_ref: ref })
    .whereIn('status', NOT_DONE)
    .select('message_id', 'campaign_id');
  const deadline = Date.now() + deps.config.DISPATCH_LEASE_MS + 5000;
  for (const row of rows) {
    const stream = message.messageStream(row.message_id);
    for (;;) {
      const state = foldStream(message, await deps.store.read(stream));
      if (['queued', 'deferred', 'retrying'].includes(state.status)) {
        await handleCommand(
          deps.store,
          stream,
          message,
          { type: 'Skip', accountId, campaignId: row.campaign_id, messageId: row.message_id, reason: 'erased' },
          context,
        );
        continue;
      }
      if (state.status !== 'sending') break;
      if (Date.now() > deadline) {
        deps.log.warn({ accountId, messageId: row.message_id }, 'erasure: a send in flight outlived its lease');
        break;
      }
      await sleep(50);
    }
  }
}

/** Redacts the provider's copies; answers the sids still to do. */
async function redactAtProvider(deps: GdprDeps, accountId: string, ref: string, phone: string): Promise<string[]> {
  let sids: string[];
  try {
    sids = await deps.redactor.findMessages(phone);
  } catch (error) {
    // The number is about to be forgotten: fall back on the sids our own read model knows.
    deps.log.warn({ err: error, accountId }, 'erasure: listing the provider’s messages failed');
    const rows = await deps
      .db('campaign_messages')
      .where({ account_id: accountId, consumer_ref: ref })
      .whereNotNull('provider_message_id')
      .pluck('provider_message_id');
    sids = rows as string[];
  }
  return (await deps.redactor.redact(sids)).failed;
}

export interface ErasureStatus {
  erasureId: string;
  status: 'pending' | 'done';
  requestedAt: string;
  completedAt: string | null;
}

/** An erasure is done once its effects are applied and every read model has passed its position. */
export async function erasureStatus(
  deps: Pick<GdprDeps, 'db' | 'log' | 'redactor'>,
  accountId: string,
  erasureId: string,
): Promise<ErasureStatus> {
  const found = () => deps.db('gdpr_erasures').where({ account_id: accountId, erasure_id: erasureId }).first();
  let row = /^[0-9a-f-]{36}$/.test(erasureId) ? await found() : undefined;
  if (!row) throw new DomainError('ERASURE_NOT_FOUND', 'No such erasure in this account.');
  if (!row.completed_at && !row.applied_at) await retryProviderRedaction(deps, row);
  if (!row.completed_at && (await found())?.applied_at) {
    const position =
      row.commit_position === null
        ? null
        : { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
    const reached = await readCheckpoints(
      deps.db,
      projections.map((projection) => projection.name),
    );
    if ([...reached.values()].every((at) => comparePositions(at, position) >= 0)) {
      await deps
        .db('gdpr_erasures')
        .where({ erasure_id: erasureId })
        .whereNull('completed_at')
        .update({ completed_at: deps.db.fn.now() });
    }
  }
  row = await found();
  return {
    erasureId,
    status: row.completed_at ? 'done' : 'pending',
    requestedAt: new Date(row.requested_at).toISOString(),
    completedAt: row.completed_at ? new Date(row.completed_at).toISOString() : null,
  };
}

const PROVIDER_RETRY_MS = 30_000;

/** Provider messages that were still sending at the erasure are redacted on a later look, by sid. */
async function retryProviderRedaction(
  deps: Pick<GdprDeps, 'db' | 'log' | 'redactor'>,
  row: { erasure_id: string; provider_pending: string[]; provider_attempted_at: Date | null },
): Promise<void> {
  if (!row.provider_attempted_at) return;
  if (Date.now() - new Date(row.provider_attempted_at).getTime() < PROVIDER_RETRY_MS) return;
  const { failed } = await deps.redactor.redact(row.provider_pending);
  await deps
    .db('gdpr_erasures')
    .where({ erasure_id: row.erasure_id })
    .update({
      provider_pending: JSON.stringify(failed),
      provider_attempted_at: deps.db.fn.now(),
      ...(failed.length === 0 ? { applied_at: deps.db.fn.now() } : {}),
    });
}
