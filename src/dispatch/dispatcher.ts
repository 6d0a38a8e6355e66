import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { recordCarrierOptOut } from '../app/consumers.ts';
import { foldStream, handleCommand } from '../app/handler.ts';
import { inAppAppsFor, removeGoneDevice } from '../app/inapp-dispatch.ts';
import { isLandline } from '../app/line-types.ts';
import { type ChannelProviders, ChannelSendError, type SendFailure } from '../channels/port.ts';
import type { Channels } from '../channels/providers.ts';
import * as account from '../domain/account.ts';
import * as campaign from '../domain/campaign.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import { assertNever } from '../domain/decider.ts';
import {
  DAILY_CAP,
  type DispatchFacts,
  decideDispatch,
  needsDailyAllowance,
  type Recipient,
  type Send,
} from '../domain/dispatch.ts';
import * as message from '../domain/message.ts';
import { type EventStore, WrongExpectedVersionError } from '../eventstore/port.ts';
import { BoundedMap } from '../infra/bounded-map.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import { ConsumerKeyErasedError, type PersonalData } from '../infra/personal-data.ts';
import { DailyAllowance } from './daily-allowance.ts';
import { PollingLoop } from './polling-loop.ts';
import type { ClaimedMessage, DispatchQueue } from './queue.ts';
import type { SendRateLimiter } from './rate-limits.ts';
import { StreamCache } from './stream-cache.ts';
import { whatsappTemplateOf } from './whatsapp-facts.ts';

const ACTOR = { actor: 'system:dispatcher' };

export interface DispatcherDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  queue: DispatchQueue;
  personalData: PersonalData;
  providers: ChannelProviders;
  /** Twilio Lookup, for the accounts that skip landlines (B4). */
  lineTypes: Channels['lineTypes'];
  limiter: SendRateLimiter;
  /** Base URL the provider posts status callbacks to (PUBLIC_URL, or the app's own address). */
  callbackBaseUrl: () => string;
  now?: () => Date;
  concurrency?: number;
  /** How long a worker owns a started send; it must outlast the provider's request timeout (config checks it). */
  leaseMs?: number;
  /** How long after its first attempt a message that keeps failing retryably ends Failed. */
  giveUpMs?: number;
  dailyCap?: number;
}

type Outcome = 'sent' | 'skipped' | 'deferred' | 'failed' | 'retry' | 'reconciled' | 'busy';

/**
 * The hot path (DESIGN §4): claim due messages, decide skip / defer / send from the event store (not from lagging
 * read models), take the send lock (MessageSendStarted with the expected version), respect the rate limits, call
 * the provider, and record the outcome. A message found "sending" past its lease is reconciled with the provider.
 */
export class Dispatcher {
  private readonly loop: PollingLoop;
  private readonly campaigns: StreamCache<campaign.Campaign>;
  private readonly allowance: DailyAllowance;
  private readonly accounts: StreamCache<account.Account>;
  private readonly templateOf: ReturnType<typeof whatsappTemplateOf>;

  constructor(private readonly deps: DispatcherDeps) {
    this.campaigns = new StreamCache(deps.store, campaign, 1000);
    this.accounts = new StreamCache(deps.store, account, 2000);
    this.templateOf = whatsappTemplateOf(deps.store);
    this.allowance = new DailyAllowance(deps.db, deps.dailyCap ?? DAILY_CAP);
    this.loop = new PollingLoop(() => this.dispatchOnce(), { idleMs: 100, log: deps.log, what: 'dispatch' });
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private get leaseMs(): number {
    return this.deps.leaseMs ?? 30_000;
  }

  private get giveUpMs(): number {
    return this.deps.giveUpMs ?? message.DEFAULT_GIVE_UP_MS;
  }

  private get dailyCap(): number {
    return this.deps.dailyCap ?? DAILY_CAP;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One round: claim what is due in every account and process it; answers how many messages were handled. */
  async dispatchOnce(): Promise<number> {
    const now = this.now();
    const concurrency = this.deps.concurrency ?? 48;
    let handled = 0;
    for (const accountId of await this.deps.queue.accountsWithDueWork(now)) {
      const claimed = await this.deps.queue.claim(accountId, {
        now,
        limit: concurrency * 4,
        leaseMs: this.leaseMs,
      });
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, claimed.length) }, async () => {
          while (next < claimed.length) {
            const claim = claimed[next++]!;
            try {
              await this.process(claim);
            } catch (error) {
              this.deps.log.error(
                { err: error, messageId: claim.messageId },
                'dispatching a message failed; it will be retried',
              );
              await this.deps.queue.release(claim.accountId, claim.messageId, new Date(this.now().getTime() + 5000));
            }
          }
        }),
      );
      handled += claimed.length;
    }
    return handled;
  }

  /** Loads the facts, decides (src/domain/dispatch.ts), and carries the decision out. */
  async process(claim: ClaimedMessage): Promise<Outcome> {
    const stream = message.messageStream(claim.messageId);
    const history = await this.deps.store.read(stream);
    const known = {
      state: foldStream(message, history),
      revision: history.length === 0 ? -1 : history[history.length - 1]!.revision,
    };
    if (!known.state.queued || known.state.accountId !== claim.accountId) return 'busy';
    const now = this.now();
    const facts = await this.loadFacts(claim.accountId, known.state, now);
    const decision = decideDispatch(facts);
    if (facts.allowanceHeld && decision.kind !== 'start')
      this.allowance.giveBack(claim.accountId, facts.message.queued!.channel, now);
    const ids = { accountId: claim.accountId, campaignId: known.state.queued.campaignId, messageId: claim.messageId };
    const nowIso = now.toISOString();
    switch (decision.kind) {
      case 'wait':
        if (decision.until) await this.deps.queue.release(claim.accountId, claim.messageId, decision.until);
        return decision.why === 'not-due' ? 'deferred' : 'busy';
      case 'skip':
        return (await this.record(stream, known, {
          type: 'Skip',
          ...ids,
          reason: decision.reason,
          detail: decision.detail,
        }))
          ? 'skipped'
          : 'busy';
      case 'defer': {
        const until = decision.until.toISOString();
        return (await this.record(stream, known, { type: 'Defer', ...ids, until, zones: decision.zones }))
          ? 'deferred'
          : 'busy';
      }
      case 'fail': {
        const failure = { code: decision.code, message: decision.message, source: 'system' as const };
        return (await this.record(stream, known, { type: 'Abandon', ...ids, failure, now: nowIso }))
          ? 'failed'
          : 'busy';
      }
      case 'reconcile': {
        const provider = this.deps.providers[decision.channel];
        let found: string | null = null;
        let error: SendFailure | undefined;
        try {
          if (!provider) throw new ChannelSendError(noProvider(decision.channel));
          found = await provider.findSentSince({ from: decision.from, to: decision.to, since: decision.since });
        } catch (caught) {
          if (!(caught instanceof ChannelSendError)) throw caught;
          error = caught.failure;
        }
        await this.record(stream, known, {
          type: 'Reconcile',
          ...ids,
          found,
          error,
          now: this.now().toISOString(),
          recheckMs: this.leaseMs,
          giveUpMs: this.giveUpMs,
        });
        return 'reconciled';
      }
      case 'start':
        return this.send(stream, known, ids, decision.send, facts.consumer);
      default:
        return assertNever(decision);
    }
  }

  /** Appends one message command's events on the state read; false when another worker moved the stream first. */
  private async record(
    stream: string,
    known: { state: message.Message; revision: number },
    command: message.MessageCommand,
  ): Promise<message.Message | null> {
    try {
      return (await handleCommand(this.deps.store, stream, message, command, ACTOR, { attempts: 1, known })).state;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return null;
      throw error;
    }
  }

  /**
   * The rate limits first (a wait there must not eat into the lease), then the lock: MessageSendStarted with the
   * expected version, so that two workers never both send. Then the send, and its outcome.
   */
  private async send(
    stream: string,
    known: { state: message.Message; revision: number },
    ids: { accountId: string; campaignId: string; messageId: string },
    send: Send,
    consumerState: consumer.Consumer,
  ): Promise<Outcome> {
    await this.deps.limiter.acquire({
      accountId: ids.accountId,
      channel: send.channel,
      senderId: send.senderId,
      senderRate: send.senderRate,
      channelRate: send.channelRate,
    });
    const startedAt = this.now().toISOString();
    let sending: message.Message;
    try {
      sending = (
        await handleCommand(
          this.deps.store,
          stream,
          message,
          { type: 'StartSend', ...ids, now: startedAt, leaseMs: this.leaseMs },
          ACTOR,
          { attempts: 1, known },
        )
      ).state;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return 'busy';
      throw error;
    }
    const sendingKnown = { state: sending, revision: known.revision + 1 };
    const statusCallback = `${this.deps.callbackBaseUrl()}/webhooks/twilio/status?account=${encodeURIComponent(ids.accountId)}&message=${encodeURIComponent(ids.messageId)}`;
    const provider = this.deps.providers[send.channel];
    try {
      if (!provider) throw new ChannelSendError(noProvider(send.channel));
      const sent = await provider.send({ ...send, statusCallback });
      await this.record(stream, sendingKnown, {
        type: 'RecordSent',
        ...ids,
        providerMessageId: sent.providerMessageId,
        now: this.now().toISOString(),
      });
      return 'sent';
    } catch (error) {
      if (!(error instanceof ChannelSendError)) throw error;
      // Ambiguous: it may have gone out. It stays "sending" and is reconciled once its lease ends, never resent.
      if (error.failure.kind === 'ambiguous') return 'retry';
      const after = await this.record(stream, sendingKnown, {
        type: 'RecordSendFailed',
        ...ids,
        failure: error.failure,
        now: this.now().toISOString(),
        giveUpMs: this.giveUpMs,
      });
      if (error.failure.code === '21610' && !consumerState.optedOut) {
        await recordCarrierOptOut(
          this.deps,
          { accountId: ids.accountId, consumerRef: known.state.queued!.consumerRef, channel: send.channel },
          ACTOR,
        );
      }
      if (send.push) await removeGoneDevice(this.deps, send.push, error.failure, ACTOR);
      return after?.status === 'retrying' ? 'retry' : 'failed';
    }
  }

  /** Everything the dispatch decider needs about one message, read from the event store. */
  private async loadFacts(
    accountId: string,
    state: message.Message,
    now: Date,
  ): Promise<DispatchFacts & { allowanceHeld: boolean }> {
    const queued = state.queued!;
    const [cachedAccount, campaignState, consumerState, recipient] = await Promise.all([
      this.accounts.get(account.accountStream(accountId)),
      this.campaigns.get(campaign.campaignStream(queued.campaignId)),
      this.deps.store
        .read(consumer.consumerStream(accountId, queued.consumerRef))
        .then((events) => foldStream(consumer, events)),
      this.deps.personalData.openFor<Recipient>(accountId, queued.consumerRef, queued.sealed).catch((error) => {
        if (error instanceof ConsumerKeyErasedError) return null;
        throw error;
      }),
    ]);
    // A sender added moments before its campaign may be newer than the cached account: look again before
    // deciding it was removed.
    const accountState = cachedAccount.settings.senders[queued.senderId]
      ? cachedAccount
      : await this.accounts.get(account.accountStream(accountId), { fresh: true });
    const openConversation = consumerState.openConversationId
      ? foldStream(
          conversation,
          await this.deps.store.read(conversation.conversationStream(consumerState.openConversationId)),
        )
      : null;
    const lineTypeCheck = accountState.settings.lineTypeCheck;
    const landline =
      recipient?.phone !== undefined &&
      needsDailyAllowance(state) &&
      (await isLandline(
        { db: this.deps.db, log: this.deps.log, lineTypes: this.deps.lineTypes },
        { accountId, consumerRef: queued.consumerRef, phone: recipient.phone, settings: lineTypeCheck, now },
      ));
    const allowanceHeld = needsDailyAllowance(state) && (await this.allowance.take(accountId, queued.channel, now));
    return {
      accountId,
      message: state,
      campaign: campaignState,
      account: accountState,
      consumer: consumerState,
      openConversation,
      recipient,
      zones: recipient?.phone ? await this.zonesOf(recipient.phone) : null,
      now,
      withinDailyCap: allowanceHeld,
      dailyCap: this.dailyCap,
      landline,
      allowanceHeld,
      ...(queued.channel === 'whatsapp' ? { template: await this.templateOf(accountId, campaignState) } : {}),
      inAppApps: await inAppAppsFor(this.deps.store, accountId, queued.channel),
    };
  }

  private readonly zoneCache = new BoundedMap<string, Promise<string[] | null>>(20_000);

  /**
   * Time zones come from the country and area code, never the last four digits, so they are looked up once per
   * prefix: the lookup costs milliseconds of CPU, too much to repeat for every one of 10,000 recipients.
   */
  private zonesOf(phone: string): Promise<string[] | null> {
    const prefix = phone.slice(0, -4);
    let zones = this.zoneCache.get(prefix);
    if (!zones) {
      zones = timezones(parsePhoneNumberFromString(phone));
      this.zoneCache.set(prefix, zones);
    }
    return zones;
  }
}

function noProvider(channel: string): SendFailure {
  return { kind: 'retryable', code: 'NO_PROVIDER', message: `No provider sends on ${channel} here.`, source: 'system' };
}
