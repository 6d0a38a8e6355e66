import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The process's Prometheus registry and the product's own series. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'outbound_' });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'outbound_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    projectedEvents: new Counter({
      name: 'outbound_projection_events_total',
      help: 'Events read by each projection',
      labelNames: ['projection'] as const,
      registers: [registry],
    }),
    projectionCaughtUp: new Gauge({
      name: 'outbound_projection_caught_up',
      help: '1 when the projection has reached the head of the store at the last readiness check',
      labelNames: ['projection'] as const,
      registers: [registry],
    }),
    projectionHalted: new Gauge({
      name: 'outbound_projection_halted',
      help: '1 when the projection stopped at an event it cannot apply (it resumes there after a restart)',
      labelNames: ['projection'] as const,
      registers: [registry],
    }),
    commands: new Counter({
      name: 'outbound_commands_total',
      help: 'Commands handled over HTTP, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
