import { type Request, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { loadInAppApps, registerDevice, registerInAppApp } from '../../app/inapp.ts';
import { inAppCredentials } from '../../channels/inapp-credentials.ts';
import { DomainError } from '../../domain/decider.ts';
import { SIGNATURE_HEADER, verifySignature } from '../../infra/signature.ts';
import { waitForProjection } from '../../projections/wait.ts';
import { httpStatus } from '../domain-statuses.ts';
import { requireRole, requireUser } from './session.ts';

/** The sandbox's own app: a push proxy that is this server, so `npm start` tries In-App without a phone. */
export const SANDBOX_APP_ID = 'sandbox.device';

/**
 * F6 without a phone (only while the Twilio sandbox is on): `POST /sandbox/inapp/push/:accountId` is a push proxy
 * that checks each push's signature and keeps it; `/sandbox/inapp` acts as the consumer's device — it registers
 * the sandbox app and devices, lists the pushes received, and opens their deep links (the messaging window).
 */
export function inAppSandboxPushRoutes(app: AppContext): Router {
  const router = Router();
  router.post('/sandbox/inapp/push/:accountId', async (req, res) => {
    const accountId = String(req.params.accountId);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const credentials =
      typeof body.appId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(accountId)
        ? await inAppCredentials(app.db, accountId, body.appId)
        : null;
    // Our own JSON.stringify of what we sent gives back the exact bytes that were signed.
    const signed =
      credentials?.proxySecret &&
      verifySignature(
        credentials.proxySecret,
        String(req.get(SIGNATURE_HEADER) ?? ''),
        JSON.stringify(req.body),
        new Date(),
      );
    if (!signed) return void res.status(403).json({ error: 'bad or missing X-Outbound-Signature' });
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    if (!text('deepLink') || !text('messageId'))
      return void res.status(400).json({ error: 'deepLink and messageId are required' });
    const [row] = await app
      .db('sandbox_inapp_pushes')
      .insert({
        account_id: accountId,
        app_id: text('appId'),
        consumer_id: text('consumerId'),
        message_id: text('messageId'),
        title: text('title'),
        body: text('body'),
        image_url: text('imageUrl') || null,
        deep_link: text('deepLink'),
      })
      .returning('seq');
    res.status(200).json({ id: `sandbox-push-${row.seq}` });
  });
  return router;
}

export function inAppSandboxPageRoutes(app: AppContext): Router {
  const router = Router();
  const deps = { ...app, personalData: app.channels.personalData };

  const render = async (
    req: Request,
    res: Parameters<Parameters<typeof router.get>[1]>[1],
    extra: { error?: string; status?: number } = {},
  ) => {
    const accountId = req.user!.accountId;
    const { apps } = await loadInAppApps(app, accountId);
    const pushes = await app
      .db('sandbox_inapp_pushes')
      .where({ account_id: accountId })
      .orderBy('seq', 'desc')
      .limit(200);
    const devices = await app
      .db('inapp_devices')
      .where({ account_id: accountId, app_id: SANDBOX_APP_ID })
      .count<{ n: string }[]>('* as n');
    res.status(extra.status ?? 200).render('sandbox/inapp', {
      title: 'In-App sandbox device',
      hasApp: Object.hasOwn(apps, SANDBOX_APP_ID),
      appId: SANDBOX_APP_ID,
      devices: Number(devices[0]?.n ?? 0),
      pushes,
      isAdmin: req.user!.role === 'admin',
      error: extra.error ?? null,
    });
  };

  router.get('/sandbox/inapp', requireUser, async (req, res) => {
    await render(req, res);
  });

  router.post('/sandbox/inapp/app', requireRole('admin'), async (req, res) => {
    const accountId = req.user!.accountId;
    try {
      await registerInAppApp(
        app,
        {
          accountId,
          appId: SANDBOX_APP_ID,
          platform: 'web',
          provider: 'push-proxy',
          proxyUrl: `${app.channels.baseUrl()}/sandbox/inapp/push/${accountId}`,
        },
        { actor: req.user!.userId },
      );
      res.redirect(303, '/sandbox/inapp');
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error: error.message, status: httpStatus(error) });
    }
  });

  router.post('/sandbox/inapp/devices', requireRole('admin', 'campaign_manager'), async (req, res) => {
    const consumerId = typeof req.body?.consumerId === 'string' ? req.body.consumerId : '';
    try {
      const result = await registerDevice(
        deps,
        {
          accountId: req.user!.accountId,
          consumerId,
          registration: { appId: SANDBOX_APP_ID, platform: 'web', pushToken: `sandbox-${consumerId.trim()}` },
        },
        { actor: req.user!.userId },
      );
      if (result.position) await waitForProjection(app.db, 'inapp-devices', result.position, { timeoutMs: 2000 });
      res.redirect(303, '/sandbox/inapp');
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error: error.message, status: httpStatus(error) });
    }
  });
  return router;
}
