import { randomBytes } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { addUser, changeRole, loadAccount, removeUser } from '../../app/accounts.ts';
import type { AppContext } from '../../app/context.ts';
import { BOT_USER_NAMES, ROLE_LABELS, ROLES, type Role } from '../../domain/account.ts';
import { DomainError } from '../../domain/decider.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

/**
 * F3: the account's users. Everyone sees the list; Admins add users (a generated first password is shown once),
 * change roles and remove users. Removing a bot user stops sending until it is restored (the page warns first).
 */
export function userRoutes(app: AppContext): Router {
  const router = Router();

  async function render(
    req: Request,
    res: Response,
    extra: { error?: DomainError; created?: { email: string; password: string }; status?: number } = {},
  ) {
    await readYourWrites(app.db, req, ['users']);
    const users = await app
      .db('users')
      .where({ account_id: req.user!.accountId })
      .orderBy([{ column: 'kind', order: 'desc' }, { column: 'name' }])
      .select('user_id', 'kind', 'email', 'name', 'role', 'added_at');
    const account = await loadAccount(app, req.user!.accountId);
    const present = new Set(Object.values(account.users).map((user) => user.name));
    res.status(extra.status ?? 200).render('users/index', {
      title: 'Users',
      users,
      roleLabels: ROLE_LABELS,
      roles: ROLES,
      isAdmin: req.user!.role === 'admin',
      missingBots: BOT_USER_NAMES.filter((name) => !present.has(name)),
      error: extra.error ? { message: extra.error.message, field: extra.error.field ?? null } : null,
      created: extra.created ?? null,
      input: extra.error ? (req.body ?? {}) : {},
    });
  }

  router.get('/users', requireUser, async (req, res) => {
    await render(req, res);
  });

  const text = (req: Request, name: string) => {
    const value = (req.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value.trim() : '';
  };

  router.post('/users', requireRole('admin'), async (req, res) => {
    const password = randomBytes(12).toString('base64url');
    try {
      const email = text(req, 'email');
      await addUser(
        app,
        { accountId: req.user!.accountId, email, name: text(req, 'name'), role: text(req, 'role') as Role, password },
        { actor: req.user!.userId },
      );
      await render(req, res, { created: { email: email.toLowerCase(), password } });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error, status: httpStatus(error) });
    }
  });

  router.post('/users/:id/role', requireRole('admin'), async (req, res) => {
    try {
      const result = await changeRole(
        app,
        { accountId: req.user!.accountId, userId: String(req.params.id), role: text(req, 'role') as Role },
        { actor: req.user!.userId },
      );
      res.redirect(303, withPosition('/users', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error, status: httpStatus(error) });
    }
  });

  router.post('/users/:id/remove', requireRole('admin'), async (req, res) => {
    try {
      const result = await removeUser(
        app,
        { accountId: req.user!.accountId, userId: String(req.params.id) },
        { actor: req.user!.userId },
      );
      res.redirect(303, withPosition('/users', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { error, status: httpStatus(error) });
    }
  });

  return router;
}
