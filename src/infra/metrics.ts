import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus registry. Node.js and process metrics keep prom-client's standard, unprefixed names
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes` …) so that the usual Node.js dashboards find them;
 * the product's own series start with `outbound_`.
 *
 * Two kinds of product series:
 * - this process's own work (HTTP requests, provider requests, events projected here): counters and histograms,
 *   summed across instances as usual;
 * - the deployment's state, read from Postgres when scraped (queue depth, projection lag, message outcomes,
 *   failing webhook deliveries): every instance reports the same global figure, so aggregate them with max().
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'outbound_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    /**
     * One request to a channel provider (Twilio, FCM, a push proxy), observed by the channel adapter: `outcome` is
     * `ok`, `retryable` (5xx, 429, a timeout) or `failed` (a permanent refusal).
     */
    providerRequestSeconds: new Histogram({
      name: 'outbound_provider_request_duration_seconds',
      help: 'Channel provider request duration by channel and outcome (ok, or the failure kind: retryable, permanent, ambiguous)',
      labelNames: ['channel', 'outcome'] as const,
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [registry],
    }),
    projectedEvents: new Counter({
      name: 'outbound_projection_events_total',
      help: 'Events read by each projection in this process',
      labelNames: ['projection'] as const,
      registers: [registry],
    }),
    projectionCaughtUp: gauge(
      'outbound_projection_caught_up',
      '1 when the projection has reached the head of the store at the last readiness check',
      ['projection'],
    ),
    projectionLagSeconds: gauge(
      'outbound_projection_lag_seconds',
      'How long the oldest event the projection has not applied yet has been in the store (0 when caught up)',
      ['projection'],
    ),
    // A counter set from the read model at each scrape (reset, then the stored totals): monotonic across restarts.
    messageOutcomes: new Counter({
      name: 'outbound_message_outcomes_total',
      help:
        'Message outcomes recorded in the store, by channel: sent, failed (each failed attempt, by provider code ' +
        'and whether it is retried), skipped (by reason), deferred (off-hours). A global figure',
      labelNames: ['channel', 'outcome', 'code', 'reason', 'retryable'] as const,
      registers: [registry],
    }),
    projectionHalted: new Gauge({
      name: 'outbound_projection_halted',
      help: '1 when the projection stopped at an event it cannot apply (it resumes there after a restart)',
      labelNames: ['projection'] as const,
      registers: [registry],
    }),
    dispatchQueueMessages: gauge(
      'outbound_dispatch_queue_messages',
      'Messages waiting for the dispatcher, by state (queued, deferred, retrying, sending)',
      ['state'],
    ),
    dispatchQueueDue: gauge(
      'outbound_dispatch_queue_due_messages',
      'Messages due now and not held by a worker: the backlog the dispatchers have yet to take',
    ),
    dispatchQueueOldestDueSeconds: gauge(
      'outbound_dispatch_queue_oldest_due_seconds',
      'How long the oldest due message not held by a worker has been due (0 when none)',
    ),
    webhookDeliveriesFailing: gauge(
      'outbound_webhook_deliveries_failing',
      'Status-webhook deliveries failing: retrying (failed at least once, will be retried) and gave_up',
      ['state'],
    ),
    commands: new Counter({
      name: 'outbound_commands_total',
      help: 'Commands handled over HTTP, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
