import { Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { ROLE_LABELS } from '../../domain/account.ts';
import { readYourWrites } from './consistency.ts';
import { requireUser } from './session.ts';

export function userRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/users', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['users']);
    const users = await app
      .db('users')
      .where({ account_id: req.user!.accountId })
      .orderBy([{ column: 'kind', order: 'desc' }, { column: 'name' }])
      .select('user_id', 'kind', 'email', 'name', 'role', 'added_at');
    res.render('users/index', { title: 'Users', users, roleLabels: ROLE_LABELS });
  });

  return router;
}
