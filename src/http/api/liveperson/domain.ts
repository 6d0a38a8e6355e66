import { type Request, Router } from 'express';
import type { AppContext } from '../../../app/context.ts';
import { sendLpError } from './errors.ts';

/**
 * The services a LivePerson client looks up before calling the APIs this deployment answers: `agentVep` and
 * `sentinel` for the AppJWT, and the proactive, reporting and handoff (configuration) services. Every one of
 * them lives on this host, so any service name is answered with it; these are the ones listed in the
 * all-services answer.
 */
export const LIVEPERSON_SERVICES = [
  'agentVep',
  'sentinel',
  'prmsg',
  'proactiveMessaging',
  'proactive',
  'outboundReporting',
  'cxReporting',
  'handoff',
  'outboundConfiguration',
] as const;

const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** This deployment's host as LivePerson writes a baseURI: host and port, no scheme (PUBLIC_URL, else the request's). */
export function baseUriOf(app: AppContext, req: Request): string {
  if (app.config.PUBLIC_URL) return new URL(app.config.PUBLIC_URL).host;
  return req.get('host') ?? `127.0.0.1:${app.config.PORT}`;
}

/** LivePerson's domain API: `GET /api/account/:accountId/service/:service/baseURI.json?version=1.0`. */
export function domainRoutes(app: AppContext): Router {
  const router = Router();

  const checkRequest = async (req: Request, res: Parameters<typeof sendLpError>[0]): Promise<boolean> => {
    if (req.query.version !== undefined && req.query.version !== '1.0') {
      sendLpError(res, 400, 'version must be 1.0.', 'INVALID_FIELD', { field: 'version' });
      return false;
    }
    const accountId = String(req.params.accountId);
    const known = /^[A-Za-z0-9_.-]{1,64}$/.test(accountId)
      ? await app.db('accounts').where({ account_id: accountId }).first('account_id')
      : undefined;
    if (!known) {
      sendLpError(res, 401, 'Unknown site (account).', 'ACCOUNT_NOT_FOUND', { field: 'account' });
      return false;
    }
    return true;
  };

  router.get('/api/account/:accountId/service/baseURI.json', async (req, res) => {
    if (!(await checkRequest(req, res))) return;
    const baseURI = baseUriOf(app, req);
    res.json({
      baseURIs: LIVEPERSON_SERVICES.map((service) => ({ service, account: req.params.accountId, baseURI })),
    });
  });

  router.get('/api/account/:accountId/service/:service/baseURI.json', async (req, res) => {
    if (!SERVICE_NAME.test(req.params.service)) {
      return sendLpError(res, 400, 'service is not a service name.', 'INVALID_FIELD', { field: 'service' });
    }
    if (!(await checkRequest(req, res))) return;
    res.json({ service: req.params.service, account: req.params.accountId, baseURI: baseUriOf(app, req) });
  });
  return router;
}
