import { Router } from 'express';
import { projections } from '../../projections/index.ts';
import type { AppContext } from '../app/context.ts';
import { readOperationalMetrics } from '../app/operational-metrics.ts';
import { readHalts } from '../projections/runner.ts';
import { waitForProjection } from '../projections/wait.ts';

/** Liveness, readiness and Prometheus metrics (DESIGN §9). */
export function opsRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    // Within a second whatever the state: a database that does not answer is a failed check, not a hang.
    const deadline = Date.now() + READY_BUDGET_MS;
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    const probe = async (name: string, work: () => Promise<unknown>) => {
      try {
        await withinDeadline(work(), deadline);
        checks[name] = { ok: true };
      } catch (error) {
        checks[name] = { ok: false, detail: (error as Error).message };
      }
    };
    await Promise.all([probe('database', () => app.db.raw('select 1')), probe('eventStore', () => app.store.ping())]);
    if (checks.database!.ok && checks.eventStore!.ok) {
      try {
        Object.assign(checks, await withinDeadline(projectionChecks(app, deadline), deadline));
      } catch (error) {
        checks.projections = { ok: false, detail: (error as Error).message };
      }
    }
    const ready = Object.values(checks).every((check) => check.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  router.get('/metrics', async (_req, res, next) => {
    try {
      await readOperationalMetrics(app);
    } catch (error) {
      // The process's own series are still worth serving when the database is away; the gauges keep their last value.
      app.log.warn({ err: error }, 'metrics: could not read the deployment state');
    }
    try {
      res.set('Content-Type', app.metrics.registry.contentType);
      res.send(await app.metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });

  return router;
}

const READY_BUDGET_MS = 900;

function withinDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const ms = Math.max(0, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_BUDGET_MS} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Caught up means: every projection reaches the head as it was when asked, before the deadline; one stopped at
 * an event it cannot apply says which event.
 */
async function projectionChecks(
  app: AppContext,
  deadline: number,
): Promise<Record<string, { ok: boolean; detail?: string }>> {
  const names = projections.map((projection) => projection.name);
  const [head, halts] = await Promise.all([app.store.headPosition(), readHalts(app.db, names)]);
  const results = await Promise.all(
    names.map(async (name): Promise<[string, { ok: boolean; detail?: string }]> => {
      const halt = halts.get(name);
      if (halt) {
        return [
          name,
          {
            ok: false,
            detail: `stopped at ${halt.type} ${halt.eventId} (position ${halt.position}, stream ${halt.streamId}): ${halt.error}`,
          },
        ];
      }
      const timeoutMs = Math.max(0, deadline - Date.now() - 50);
      const ok = head === null || (await waitForProjection(app.db, name, head, { timeoutMs }));
      return [name, ok ? { ok } : { ok, detail: 'behind the head of the event store' }];
    }),
  );
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  for (const [name, check] of results) {
    checks[`projection:${name}`] = check;
    app.metrics.projectionCaughtUp.set({ projection: name }, check.ok ? 1 : 0);
  }
  return checks;
}
