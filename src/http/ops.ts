import { Router } from 'express';
import type { AppContext } from '../app/context.ts';
import { readOperationalMetrics } from '../app/operational-metrics.ts';
import { projections } from '../projections/index.ts';
import { waitForProjection } from '../projections/wait.ts';

/** Liveness, readiness and Prometheus metrics (DESIGN §9). */
export function opsRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await app.db.raw('select 1');
      checks.database = { ok: true };
    } catch (error) {
      checks.database = { ok: false, detail: (error as Error).message };
    }
    try {
      await app.store.ping();
      checks.eventStore = { ok: true };
    } catch (error) {
      checks.eventStore = { ok: false, detail: (error as Error).message };
    }
    if (checks.database.ok && checks.eventStore.ok) {
      // Caught up means: every projection reaches the head as it was when we asked, within a second.
      const head = await app.store.headPosition();
      for (const projection of projections) {
        const ok = head === null || (await waitForProjection(app.db, projection.name, head, { timeoutMs: 1000 }));
        checks[`projection:${projection.name}`] = ok ? { ok } : { ok, detail: 'behind the head of the event store' };
        app.metrics.projectionCaughtUp.set({ projection: projection.name }, ok ? 1 : 0);
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
