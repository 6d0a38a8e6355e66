import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { type ConsumerIdentityInput, erasureStatus, requestErasure } from '../../app/gdpr.ts';
import { consentHistory, recordConsentChange } from '../../app/gdpr-consent.ts';
import { erasurePreview, exportConsumer } from '../../app/gdpr-export.ts';
import { DomainError } from '../../domain/decider.ts';
import type { GlobalPosition } from '../../eventstore/port.ts';
import { gdprDeps } from '../api/gdpr.ts';
import { httpStatus } from '../domain-statuses.ts';
import { renderError } from '../errors.ts';
import { requireRole } from './session.ts';

/**
 * F14 in the web tool, for Admins: erase a consumer (a confirmation first names what goes and what stays; then
 * the erasure's state refreshes itself until every read model has applied it) and download a consumer's export.
 * Numbers travel in POST bodies, never in URLs, so they stay out of logs and browser history.
 */
export function gdprWebRoutes(app: AppContext): Router {
  const router = Router();
  const deps = gdprDeps(app);
  const admin = requireRole('admin');

  const identityOf = (req: Request): ConsumerIdentityInput => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string).trim() : '');
    const phone = text('phone');
    const consumerId = text('consumerId');
    return { ...(phone ? { phone } : {}), ...(consumerId ? { consumerId } : {}) };
  };

  async function renderIndex(
    req: Request,
    res: Response,
    extra: { error?: DomainError; form?: string; consent?: Awaited<ReturnType<typeof consentHistory>> } = {},
  ) {
    const erasures = await app
      .db('gdpr_erasures')
      .where({ account_id: req.user!.accountId })
      .orderBy('requested_at', 'desc')
      .limit(20)
      .select('erasure_id', 'requested_by', 'requested_at', 'completed_at');
    res.status(extra.error ? httpStatus(extra.error) : 200).render('gdpr/index', {
      title: 'GDPR',
      erasures,
      error: extra.error ? { message: extra.error.message, field: extra.error.field ?? null, form: extra.form } : null,
      input: extra.error || extra.consent ? identityOf(req) : {},
      consent: extra.consent ?? null,
    });
  }

  const refusedInput = async (req: Request, res: Response, error: unknown, form: string) => {
    if (!(error instanceof DomainError)) throw error;
    await renderIndex(req, res, { error, form });
  };

  router.get('/gdpr', admin, (req, res) => renderIndex(req, res));

  router.post('/gdpr/erasure/confirm', admin, async (req, res) => {
    try {
      const preview = await erasurePreview(deps, req.user!.accountId, identityOf(req));
      res.render('gdpr/confirm', { title: 'Confirm the erasure', preview });
    } catch (error) {
      await refusedInput(req, res, error, 'erase');
    }
  });

  router.post('/gdpr/erasure', admin, async (req, res) => {
    if (req.body?.confirm !== 'yes') {
      return refusedInput(
        req,
        res,
        new DomainError('CONFIRMATION_REQUIRED', 'Confirm the erasure first.', 'confirm'),
        'erase',
      );
    }
    try {
      const { erasureId } = await requestErasure(deps, req.user!.accountId, identityOf(req), {
        actor: req.user!.userId,
      });
      res.redirect(303, `/gdpr/erasure/${erasureId}`);
    } catch (error) {
      await refusedInput(req, res, error, 'erase');
    }
  });

  async function statusOf(req: Request) {
    try {
      return await erasureStatus(deps, req.user!.accountId, String(req.params.erasureId));
    } catch (error) {
      if (error instanceof DomainError && httpStatus(error) === 404) return null;
      throw error;
    }
  }

  router.get('/gdpr/erasure/:erasureId', admin, async (req, res) => {
    const erasure = await statusOf(req);
    if (!erasure) {
      renderError(req, res, 404, { title: 'Not found', message: 'No such erasure in this account.' });
      return;
    }
    res.render('gdpr/erasure', { title: 'Erasure', erasure });
  });

  // Polled by the erasure page; 286 stops htmx once it is done.
  router.get('/gdpr/erasure/:erasureId/status', admin, async (req, res) => {
    const erasure = await statusOf(req);
    if (!erasure) {
      renderError(req, res, 404, { title: 'Not found', message: 'No such erasure in this account.' });
      return;
    }
    res.status(erasure.status === 'done' ? 286 : 200).render('gdpr/_status', { erasure });
  });

  router.post('/gdpr/export', admin, async (req, res) => {
    try {
      const document = await exportConsumer(deps, req.user!.accountId, identityOf(req), { actor: req.user!.userId });
      res.set('Content-Disposition', `attachment; filename="consumer-export-${document.exportId}.json"`);
      res.type('application/json').send(JSON.stringify(document, null, 2));
    } catch (error) {
      await refusedInput(req, res, error, 'export');
    }
  });

  // One form: show the history, or record an opt-out or opt-in that reached the brand another way (via "web").
  router.post('/gdpr/consent', admin, async (req, res) => {
    const action = String(req.body?.action ?? 'show');
    try {
      let recorded: GlobalPosition | null = null;
      if (action === 'opt-out' || action === 'opt-in') {
        const channel = ['sms', 'whatsapp', 'inapp'].includes(req.body?.channel) ? String(req.body.channel) : 'sms';
        ({ position: recorded } = await recordConsentChange(
          deps,
          req.user!.accountId,
          { ...identityOf(req), optedOut: action === 'opt-out', channel },
          'web',
          { actor: req.user!.userId },
        ));
      }
      await renderIndex(req, res, {
        consent: await consentHistory(deps, req.user!.accountId, identityOf(req), recorded),
      });
    } catch (error) {
      await refusedInput(req, res, error, 'consent');
    }
  });

  return router;
}
