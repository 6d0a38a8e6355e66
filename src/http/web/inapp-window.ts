import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { openWindow, replyInWindow, type WindowDeps, type WindowRefusal } from '../../app/inapp-window.ts';
import { LinkSigner } from '../../infra/signed-links.ts';
import { renderError } from '../errors.ts';

const REFUSALS: Record<WindowRefusal, { status: number; title: string; message: string }> = {
  forged: {
    status: 404,
    title: 'This link is not valid',
    message: 'This message link is not one we sent. Open the message again from the app’s notification.',
  },
  expired: {
    status: 410,
    title: 'This link has expired',
    message: 'Message links last a limited time. Open the app to see your latest messages.',
  },
  erased: {
    status: 410,
    title: 'This message is no longer available',
    message: 'The data behind this message was deleted at your request.',
  },
};

function refuse(req: Request, res: Response, why: WindowRefusal): void {
  const { status, title, message } = REFUSALS[why];
  if (req.get('hx-request') === 'true') renderError(req, res, status, { title, message });
  else res.status(status).render('inapp/refused', { title, message });
}

/** The image may come from its (allow-listed) host: helmet's CSP is widened for that one origin on this page. */
function allowImage(res: Response, imageUrl: string | null): void {
  const csp = res.getHeader('content-security-policy');
  if (!imageUrl || typeof csp !== 'string') return;
  const origin = new URL(imageUrl).origin;
  res.setHeader('content-security-policy', csp.replace(/img-src [^;]*/, `img-src 'self' data: ${origin}`));
}

/**
 * F6's in-app messaging window, `/m/<token>`, outside the web tool's sessions: the signed token is the consumer's
 * only credential. The page polls its thread; the reply form posts `body`.
 */
export function inAppWindowRoutes(app: AppContext): Router {
  const router = Router();
  const deps: WindowDeps = {
    ...app,
    personalData: app.channels.personalData,
    providers: app.channels.providers,
    links: new LinkSigner(app.db),
  };
  const TOKEN = /^[A-Za-z0-9_.-]{1,1500}$/;

  router.get('/m/:token', async (req, res) => {
    const token = String(req.params.token);
    const view = TOKEN.test(token) ? await openWindow(deps, token, { recordRead: true }) : 'forged';
    if (typeof view === 'string') return refuse(req, res, view);
    allowImage(res, view.imageUrl);
    res.render('inapp/window', { title: view.title || 'Message', view, token });
  });

  router.get('/m/:token/thread', async (req, res) => {
    const token = String(req.params.token);
    const view = TOKEN.test(token) ? await openWindow(deps, token, { recordRead: false }) : 'forged';
    if (typeof view === 'string') return refuse(req, res, view);
    res.render('inapp/_thread', { view, token });
  });

  router.post('/m/:token/reply', async (req, res) => {
    const token = String(req.params.token);
    const replied = TOKEN.test(token) ? await replyInWindow(deps, token, req.body?.body) : 'forged';
    if (typeof replied === 'string') return refuse(req, res, replied);
    if (req.get('hx-request') !== 'true') return res.redirect(303, `/m/${token}`);
    const view = await openWindow(deps, token, { recordRead: false });
    if (typeof view === 'string') return refuse(req, res, view);
    res.render('inapp/_conversation', { view, token });
  });

  return router;
}
