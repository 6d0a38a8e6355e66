import { Router } from 'express';
import { activateProactive } from '../../app/accounts.ts';
import type { AppContext } from '../../app/context.ts';
import { BOT_USER_NAMES } from '../../domain/account.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

/** F1: one click activates Proactive and creates the two bot users. */
export function onboardingRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/onboarding', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['accounts', 'users']);
    const accountId = req.user!.accountId;
    const account = await app.db('accounts').where({ account_id: accountId }).first();
    const bots = await app.db('users').where({ account_id: accountId, kind: 'bot' }).orderBy('name').select('name');
    const present = new Set(bots.map((bot) => bot.name as string));
    const missingBots = BOT_USER_NAMES.filter((name) => !present.has(name));
    res.render('onboarding/index', {
      title: 'Proactive messaging',
      account,
      bots: BOT_USER_NAMES.map((name) => ({ name, present: present.has(name) })),
      missingBots,
      canActivate: req.user!.role === 'admin',
    });
  });

  router.post('/onboarding/activate', requireRole('admin'), async (req, res) => {
    const result = await activateProactive(app, req.user!.accountId, {
      actor: req.user!.userId,
      correlationId: req.get('x-request-id') ?? undefined,
    });
    res.redirect(303, withPosition('/onboarding', result.position));
  });

  return router;
}
