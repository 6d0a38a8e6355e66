import { projections } from '../../projections/index.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Metrics } from '../infra/metrics.ts';
import { readCheckpoints } from '../projections/wait.ts';

/**
 * The deployment's state for /metrics, read at scrape time from Postgres and the store, so that any process
 * (web or worker) reports the same figures: a handful of indexed reads, whatever the volume.
 */
export async function readOperationalMetrics(deps: { db: Db; store: EventStore; metrics: Metrics }): Promise<void> {
  const { db, metrics } = deps;
  await Promise.all([
    projectionLag(deps),
    messageOutcomes(db, metrics),
    dispatchQueue(db, metrics),
    webhooks(db, metrics),
  ]);
}

async function projectionLag({ db, store, metrics }: { db: Db; store: EventStore; metrics: Metrics }) {
  const names = projections.map((projection) => projection.name);
  const checkpoints = await readCheckpoints(db, names);
  const now = Date.now();
  for (const name of names) {
    const [oldestUnapplied] = await store.readAll(checkpoints.get(name) ?? null, 1);
    const lag = oldestUnapplied ? Math.max(0, (now - oldestUnapplied.createdAt.getTime()) / 1000) : 0;
    metrics.projectionLagSeconds.set({ projection: name }, lag);
  }
}

async function messageOutcomes(db: Db, metrics: Metrics) {
  const rows: { channel: string; outcome: string; code: string; reason: string; retryable: boolean; total: string }[] =
    await db('message_outcome_totals').select('channel', 'outcome', 'code', 'reason', 'retryable', 'total');
  metrics.messageOutcomes.reset();
  for (const row of rows) {
    const { channel, outcome, code, reason } = row;
    metrics.messageOutcomes.inc(
      { channel, outcome, code, reason, retryable: String(row.retryable) },
      Number(row.total),
    );
  }
}

async function dispatchQueue(db: Db, metrics: Metrics) {
  const byState: { state: string; count: string }[] = await db('dispatch_queue')
    .select('state')
    .count('* as count')
    .groupBy('state');
  metrics.dispatchQueueMessages.reset();
  for (const state of ['queued', 'deferred', 'retrying', 'sending']) metrics.dispatchQueueMessages.set({ state }, 0);
  for (const row of byState) metrics.dispatchQueueMessages.set({ state: row.state }, Number(row.count));
  // Due and free to claim: what the dispatchers should be taking now. Its age says whether they keep up.
  const due = await db('dispatch_queue')
    .where('not_before', '<=', db.fn.now())
    .andWhere((free) => free.whereNull('lease_until').orWhere('lease_until', '<', db.fn.now()))
    .first(db.raw('count(*) as count'), db.raw('extract(epoch from now() - min(not_before)) as oldest'));
  metrics.dispatchQueueDue.set(Number(due?.count ?? 0));
  metrics.dispatchQueueOldestDueSeconds.set(Math.max(0, Number(due?.oldest ?? 0)));
}

async function webhooks(db: Db, metrics: Metrics) {
  const [retrying, gaveUp] = await Promise.all([
    db('webhook_deliveries').where({ status: 'pending' }).andWhere('attempts', '>', 0).count('* as count').first(),
    db('webhook_deliveries').where({ status: 'failed' }).count('* as count').first(),
  ]);
  metrics.webhookDeliveriesFailing.set({ state: 'retrying' }, Number(retrying?.count ?? 0));
  metrics.webhookDeliveriesFailing.set({ state: 'gave_up' }, Number(gaveUp?.count ?? 0));
}
