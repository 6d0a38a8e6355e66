import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { loadInAppApps, registerInAppApp, removeInAppApp } from '../../app/inapp.ts';
import { DomainError } from '../../domain/decider.ts';
import { INAPP_PLATFORMS, INAPP_PROVIDERS, MAX_INAPP_APPS } from '../../domain/inapp.ts';
import { httpStatus } from '../domain-statuses.ts';
import { withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

/**
 * F6 in Settings: the account's apps (at most 4), each with its platform and push provider. A push proxy's signing
 * secret is generated and shown once, on the answer that registered it; FCM's service account JSON is sealed.
 */
export function inAppSettingsRoutes(app: AppContext): Router {
  const router = Router();

  const render = async (
    req: Request,
    res: Response,
    extra: { error?: string; field?: string; secret?: { appId: string; secret: string }; status?: number } = {},
  ) => {
    const accountId = req.user!.accountId;
    const { apps } = await loadInAppApps(app, accountId);
    const counts = await app
      .db('inapp_devices')
      .where({ account_id: accountId })
      .groupBy('app_id')
      .select('app_id')
      .count<{ app_id: string; count: string }[]>('* as count');
    const devices = Object.fromEntries(counts.map((row) => [row.app_id, Number(row.count)]));
    res.status(extra.status ?? 200).render('settings/inapp', {
      title: 'In-App apps',
      apps: Object.entries(apps).map(([appId, entry]) => ({ appId, ...entry, devices: devices[appId] ?? 0 })),
      platforms: INAPP_PLATFORMS,
      providers: INAPP_PROVIDERS,
      maxApps: MAX_INAPP_APPS,
      canEdit: req.user!.role === 'admin',
      error: extra.error ?? null,
      field: extra.field ?? null,
      secret: extra.secret ?? null,
      input: extra.error ? (req.body ?? {}) : {},
    });
  };

  router.get('/settings/inapp', requireUser, async (req, res) => {
    await render(req, res);
  });

  router.post('/settings/inapp', requireRole('admin'), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    try {
      const result = await registerInAppApp(
        app,
        {
          accountId: req.user!.accountId,
          appId: text('appId'),
          platform: text('platform'),
          provider: text('provider'),
          proxyUrl: text('proxyUrl'),
          serviceAccount: text('serviceAccount'),
        },
        { actor: req.user!.userId },
      );
      // The push proxy's secret is shown on this answer only.
      await render(req, res, result.secret ? { secret: { appId: result.appId, secret: result.secret } } : {});
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error: error.message, field: error.field, status: httpStatus(error) });
    }
  });

  router.post('/settings/inapp/:appId/remove', requireRole('admin'), async (req, res) => {
    try {
      const result = await removeInAppApp(
        app,
        { accountId: req.user!.accountId, appId: String(req.params.appId) },
        { actor: req.user!.userId },
      );
      res.redirect(303, withPosition('/settings/inapp', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error: error.message, status: httpStatus(error) });
    }
  });

  return router;
}
