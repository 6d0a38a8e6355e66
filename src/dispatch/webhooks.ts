import type { RecordedEvent } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { Projection, ProjectionContext } from '../projections/types.ts';
import { PollingLoop } from './polling-loop.ts';

/**
 * B6, beyond LivePerson: each message status change is POSTed to the account's URL, signed, at least once.
 * The reactor writes one outbox row per event (keyed by the event id, in the runner's transaction, so a rerun
 * adds nothing); the deliverer drains the outbox with retries and backoff, across processes (SKIP LOCKED).
 */

/** The webhook's status for each message event it reports. */
const WEBHOOK_STATUS: Record<string, string> = {
  MessageDeferred: 'SCHEDULED',
  MessageSent: 'SENT',
  MessageDelivered: 'DELIVERED',
  MessageRead: 'READ',
  MessageUndelivered: 'FAILED',
  MessageSendFailed: 'FAILED',
  MessageSkipped: 'SKIPPED',
  MessageResponded: 'RESPONDED',
};

import { SIGNATURE_HEADER, signPayload } from '../infra/signature.ts';

export { SIGNATURE_HEADER, signPayload };
export const EVENT_ID_HEADER = 'x-outbound-event-id';

function payloadOf(event: RecordedEvent) {
  const data = event.data as {
    accountId: string;
    campaignId: string;
    messageId: string;
    providerMessageId?: string;
    code?: string;
    message?: string;
    reason?: string;
    detail?: string | null;
    until?: string;
    conversationId?: string;
  };
  const failure = event.type === 'MessageSendFailed' || event.type === 'MessageUndelivered';
  return {
    eventId: event.id,
    type: 'message.status',
    occurredAt: event.createdAt.toISOString(),
    accountId: data.accountId,
    proactiveCampaignId: data.campaignId,
    id: data.messageId,
    status: WEBHOOK_STATUS[event.type]!,
    providerMessageId: data.providerMessageId ?? null,
    errorCode: failure ? (data.code ?? null) : event.type === 'MessageSkipped' ? (data.reason ?? null) : null,
    errorMessage: failure ? (data.message ?? null) : event.type === 'MessageSkipped' ? (data.detail ?? null) : null,
    conversationId: data.conversationId ?? null,
    deferredUntil: data.until ?? null,
  };
}

/**
 * Fills the outbox. It keeps its own record of the subscribed accounts (fed from the webhook's own events, in
 * order with the message events), so a status change is queued exactly when the webhook was set at that point.
 */
export function statusWebhookReactor(): Projection {
  return {
    name: 'reactor:status-webhooks',
    tables: ['webhook_subscribers', 'webhook_deliveries'],
    handles: ['StatusWebhookSet', 'StatusWebhookRemoved', ...Object.keys(WEBHOOK_STATUS)],
    async project(events, { trx, table }) {
      // Runs of message events between subscription changes, so each run is written with one statement.
      let run: RecordedEvent[] = [];
      for (const event of events) {
        if (event.type === 'StatusWebhookSet' || event.type === 'StatusWebhookRemoved') {
          await queueDeliveries(trx, table, run);
          run = [];
          const accountId = String(event.data.accountId);
          if (event.type === 'StatusWebhookSet') {
            await trx(table('webhook_subscribers')).insert({ account_id: accountId }).onConflict().ignore();
          } else {
            await trx(table('webhook_subscribers')).where({ account_id: accountId }).delete();
          }
        } else if (event.type !== 'MessageSendFailed' || (event.data as { retryable?: boolean }).retryable === false) {
          run.push(event);
        }
      }
      await queueDeliveries(trx, table, run);
    },
  };
}

async function queueDeliveries(
  trx: ProjectionContext['trx'],
  table: ProjectionContext['table'],
  events: RecordedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const accounts = [...new Set(events.map((event) => String(event.data.accountId)))];
  const subscribed = new Set(
    (
      await trx(table('webhook_subscribers'))
        .whereIn('account_id', accounts)
        .select<{ account_id: string }[]>('account_id')
    ).map((row) => row.account_id),
  );
  const rows = events
    .filter((event) => subscribed.has(String(event.data.accountId)))
    .map((event) => {
      const payload = payloadOf(event);
      return {
        event_id: event.id,
        account_id: payload.accountId,
        campaign_id: payload.proactiveCampaignId,
        message_id: payload.id,
        payload: JSON.stringify(payload),
        status: 'pending',
        attempts: 0,
        next_attempt_at: event.createdAt,
        created_at: event.createdAt,
      };
    });
  for (let start = 0; start < rows.length; start += 500) {
    await trx(table('webhook_deliveries'))
      .insert(rows.slice(start, start + 500))
      .onConflict('event_id')
      .ignore();
  }
}

interface DeliveryRow {
  event_id: string;
  account_id: string;
  payload: unknown;
  attempts: number;
  url: string | null;
  secret: string | null;
}

export interface DelivererOptions {
  db: Db;
  log: Logger;
  retryBaseMs: number;
  maxAttempts: number;
  timeoutMs?: number;
  concurrency?: number;
}

/** Drains the outbox: POST, 2xx is delivered, anything else is retried with backoff until maxAttempts. */
export class WebhookDeliverer {
  private readonly loop: PollingLoop;

  constructor(private readonly options: DelivererOptions) {
    this.loop = new PollingLoop(() => this.deliverDue(), { idleMs: 250, log: options.log, what: 'webhook delivery' });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One round: claims due deliveries (a lease pushes their next attempt out), sends them, records outcomes. */
  async deliverDue(limit = 50): Promise<number> {
    const leaseUntil = new Date(Date.now() + (this.options.timeoutMs ?? 10_000) + 5000);
    const { rows } = await this.options.db.raw(
      `update webhook_deliveries d set next_attempt_at = ?
       from (
         select event_id from webhook_deliveries
         where status = 'pending' and next_attempt_at <= now()
         order by next_attempt_at limit ? for update skip locked
       ) due
       where d.event_id = due.event_id
       returning d.event_id, d.account_id, d.payload, d.attempts,
         (select url from status_webhooks w where w.account_id = d.account_id) as url,
         (select secret from status_webhook_secrets s where s.account_id = d.account_id) as secret`,
      [leaseUntil, limit],
    );
    const claimed = rows as DeliveryRow[];
    const concurrency = this.options.concurrency ?? 8;
    for (let start = 0; start < claimed.length; start += concurrency) {
      await Promise.all(claimed.slice(start, start + concurrency).map((row) => this.deliver(row)));
    }
    return claimed.length;
  }

  private async deliver(row: DeliveryRow): Promise<void> {
    const attempts = row.attempts + 1;
    if (!row.url || !row.secret) {
      await this.record(row, attempts, {
        ok: false,
        error: 'The account has no status webhook any more.',
        final: true,
      });
      return;
    }
    const body = JSON.stringify(row.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let outcome: { ok: boolean; status?: number; error?: string; final?: boolean };
    try {
      const response = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Outbound-Webhooks/1',
          [SIGNATURE_HEADER]: signPayload(row.secret, body, timestamp),
          [EVENT_ID_HEADER]: row.event_id,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      outcome = response.ok
        ? { ok: true, status: response.status }
        : { ok: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    await this.record(row, attempts, outcome);
  }

  private async record(
    row: DeliveryRow,
    attempts: number,
    outcome: { ok: boolean; status?: number; error?: string; final?: boolean },
  ): Promise<void> {
    const update: Record<string, unknown> = { attempts, last_status: outcome.status ?? null };
    if (outcome.ok) {
      Object.assign(update, { status: 'delivered', delivered_at: new Date(), last_error: null });
    } else if (outcome.final || attempts >= this.options.maxAttempts) {
      Object.assign(update, { status: 'failed', last_error: outcome.error ?? 'failed' });
      this.options.log.warn(
        { eventId: row.event_id, accountId: row.account_id, error: outcome.error },
        'webhook gave up',
      );
    } else {
      const backoff = Math.min(3_600_000, this.options.retryBaseMs * 2 ** (attempts - 1));
      Object.assign(update, { next_attempt_at: new Date(Date.now() + backoff), last_error: outcome.error ?? null });
    }
    await this.options
      .db('webhook_deliveries')
      .where({ event_id: row.event_id, account_id: row.account_id })
      .update(update);
  }
}
