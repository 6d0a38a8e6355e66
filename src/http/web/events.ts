import { Router } from 'express';
import { z } from 'zod';
import { findProjection, projections } from '../../../projections/index.ts';
import type { AppContext } from '../../app/context.ts';
import { type EventHistoryFilters, queryEventHistory } from '../../app/event-history.ts';
import { ReplayJobs } from '../../app/replay-jobs.ts';
import { DomainError } from '../../domain/decider.ts';
import { eventSchemas } from '../../domain/events.ts';
import { type GlobalPosition, parsePosition } from '../../eventstore/port.ts';
import { readYourWrites } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const filtersSchema: z.ZodType<EventHistoryFilters> = z.object({
  stream: z.string().trim().max(200).optional().default(''),
  type: z.string().trim().max(100).optional().default(''),
  correlation: z.string().trim().max(100).optional().default(''),
  campaign: z.string().trim().max(64).optional().default(''),
  recipient: z.string().trim().max(32).optional().default(''),
  user: z.string().trim().max(64).optional().default(''),
  from: z.string().trim().max(32).optional().default(''),
  to: z.string().trim().max(32).optional().default(''),
  before: z.string().trim().optional().default(''),
});

/** F21: every event of the account, newest first, filterable, each opened to its data and metadata. */
export function eventHistoryRoutes(app: AppContext): Router {
  const router = Router();
  const replays = new ReplayJobs(app);

  router.get('/events', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['audit-events']);
    const parsed = filtersSchema.safeParse(req.query);
    const filters = parsed.success ? parsed.data : filtersSchema.parse({});
    let before: GlobalPosition | null = null;
    let cursorError: string | null = null;
    if (filters.before) {
      try {
        before = parsePosition(filters.before);
      } catch {
        cursorError = 'That page link is not valid; showing the newest events.';
      }
    }
    const accountId = req.user!.accountId;
    const history = await queryEventHistory(
      { db: app.db, personalData: app.channels.personalData },
      accountId,
      filters,
      before,
    );
    res.render('events/index', {
      title: 'Event history',
      events: history.events.map((row) => ({
        ...row,
        actorLabel: describeActor(row.actor, row.actor_name, row.actor_email),
        dataJson: JSON.stringify(row.data, null, 2),
        metadataJson: JSON.stringify(row.metadata, null, 2),
      })),
      filters,
      types: Object.keys(eventSchemas).sort(),
      users: await app.db('users').where({ account_id: accountId }).orderBy('name').select('user_id', 'name'),
      nextCursor: history.nextCursor,
      cursorError: cursorError ?? history.filterError,
      filtered: Boolean(
        filters.stream ||
          filters.type ||
          filters.correlation ||
          filters.campaign ||
          filters.recipient ||
          filters.user ||
          filters.from ||
          filters.to,
      ),
      projections: projections.map((projection) => projection.name),
      replays: replays.list(),
      isAdmin: req.user!.role === 'admin',
    });
  });

  // An admin rebuilds a read model from the first event, while the app keeps serving; progress shows live.
  router.post('/events/replay', requireRole('admin'), async (req, res) => {
    const name = typeof req.body?.projection === 'string' ? req.body.projection : '';
    const projection = findProjection(name);
    if (!projection) throw new DomainError('UNKNOWN_PROJECTION', 'There is no read model by that name.', 'projection');
    replays.start(projection);
    res.redirect(303, '/events/replays');
  });

  router.get('/events/replays', requireUser, (_req, res) => {
    res.render('events/replays', { title: 'Read model rebuilds', replays: replays.list() });
  });

  router.get('/events/replays/progress', requireUser, (_req, res) => {
    res.render('events/_replays', { replays: replays.list() });
  });

  return router;
}

function describeActor(actor: string, name: string | null, email: string | null): string {
  if (actor.startsWith('system:')) return `System (${actor.slice('system:'.length)})`;
  if (name) return email && email !== name ? `${name} <${email}>` : name;
  return actor;
}
