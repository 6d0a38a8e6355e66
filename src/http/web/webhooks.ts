import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { deliveryCounts, removeStatusWebhook, setStatusWebhook } from '../../app/status-webhooks.ts';
import { DomainError } from '../../domain/decider.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

/**
 * B6 in the web tool: the account's status webhook, its delivery counts, and the deliveries that gave up, which
 * an admin can send again. Setting the URL shows a new secret once.
 */
export function webhookWebRoutes(app: AppContext): Router {
  const router = Router();

  const render = async (
    req: Request,
    res: Response,
    extra: { error?: string; secret?: string; url?: string; status?: number } = {},
  ) => {
    const accountId = req.user!.accountId;
    const webhook = await app.db('status_webhooks').where({ account_id: accountId }).first();
    const counts = await deliveryCounts(app.db, accountId);
    const failed = await app
      .db('webhook_deliveries')
      .where({ account_id: accountId, status: 'failed' })
      .orderBy('created_at', 'desc')
      .limit(100)
      .select(
        'event_id',
        'campaign_id',
        'message_id',
        'attempts',
        'last_error',
        'last_status',
        'created_at',
        'payload',
      );
    res.status(extra.status ?? 200).render('settings/webhooks', {
      title: 'Status webhook',
      webhook,
      counts,
      failed,
      canEdit: req.user!.role === 'admin',
      error: extra.error ?? null,
      secret: extra.secret ?? null,
      url: extra.url ?? webhook?.url ?? '',
    });
  };

  router.get('/settings/webhooks', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['account-settings']);
    await render(req, res);
  });

  router.post('/settings/webhooks', requireRole('admin'), async (req, res) => {
    const url = typeof req.body?.url === 'string' ? req.body.url : '';
    try {
      const result = await setStatusWebhook(
        app,
        { accountId: req.user!.accountId, url, secret: undefined },
        { actor: req.user!.userId },
      );
      if (result.position) await waitForProjection(app.db, 'account-settings', result.position, { timeoutMs: 2000 });
      // The secret is shown on this answer only.
      await render(req, res, { secret: result.generated ? result.secret : undefined, url: result.url });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error: error.message, url, status: httpStatus(error) });
    }
  });

  router.post('/settings/webhooks/remove', requireRole('admin'), async (req, res) => {
    const result = await removeStatusWebhook(app, { accountId: req.user!.accountId }, { actor: req.user!.userId });
    res.redirect(303, withPosition('/settings/webhooks', result.position));
  });

  router.post('/settings/webhooks/deliveries/:eventId/retry', requireRole('admin'), async (req, res) => {
    const eventId = String(req.params.eventId);
    if (!/^[0-9a-f-]{36}$/.test(eventId)) throw new DomainError('NOT_FOUND', 'No such delivery.');
    await app
      .db('webhook_deliveries')
      .where({ account_id: req.user!.accountId, event_id: eventId, status: 'failed' })
      .update({ status: 'pending', attempts: 0, next_attempt_at: new Date(), last_error: null });
    res.redirect(303, '/settings/webhooks');
  });

  return router;
}
