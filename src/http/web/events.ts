import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { eventSchemas } from '../../domain/events.ts';
import { formatPosition, type GlobalPosition, parsePosition } from '../../eventstore/port.ts';
import { readYourWrites } from './consistency.ts';
import { requireUser } from './session.ts';

const PAGE_SIZE = 50;

const filtersSchema = z.object({
  stream: z.string().trim().max(200).optional().default(''),
  type: z.string().trim().max(100).optional().default(''),
  correlation: z.string().trim().max(100).optional().default(''),
  before: z.string().trim().optional().default(''),
});

/** F21: every event of the account, newest first, filterable, each opened to its data and metadata. */
export function eventHistoryRoutes(app: AppContext): Router {
  const router = Router();

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
    const query = app
      .db('audit_events as e')
      .leftJoin('users as u', function () {
        this.on('u.account_id', '=', 'e.account_id').andOn('u.user_id', '=', 'e.actor');
      })
      .where('e.account_id', accountId)
      .orderBy([
        { column: 'e.commit_position', order: 'desc' },
        { column: 'e.prepare_position', order: 'desc' },
      ])
      .limit(PAGE_SIZE + 1)
      .select('e.*', 'u.name as actor_name', 'u.email as actor_email');
    if (filters.stream) {
      // A trailing * filters by prefix, e.g. `campaign-*`.
      if (filters.stream.endsWith('*')) {
        query.andWhere('e.stream_id', 'like', `${filters.stream.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
      } else {
        query.andWhere('e.stream_id', filters.stream);
      }
    }
    if (filters.type) query.andWhere('e.type', filters.type);
    if (filters.correlation) query.andWhere('e.correlation_id', filters.correlation);
    if (before) {
      query.andWhereRaw('(e.commit_position, e.prepare_position) < (?::numeric, ?::numeric)', [
        before.commit.toString(),
        before.prepare.toString(),
      ]);
    }
    const rows = await query;
    const page = rows.slice(0, PAGE_SIZE);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > PAGE_SIZE && last
        ? formatPosition({ commit: BigInt(last.commit_position), prepare: BigInt(last.prepare_position) })
        : null;
    res.render('events/index', {
      title: 'Event history',
      events: page.map((row) => ({
        ...row,
        position: `${row.commit_position}/${row.prepare_position}`,
        actorLabel: describeActor(row.actor, row.actor_name, row.actor_email),
        dataJson: JSON.stringify(row.data, null, 2),
        metadataJson: JSON.stringify(row.metadata, null, 2),
      })),
      filters,
      types: Object.keys(eventSchemas).sort(),
      nextCursor,
      cursorError,
      filtered: Boolean(filters.stream || filters.type || filters.correlation),
    });
  });

  return router;
}

function describeActor(actor: string, name: string | null, email: string | null): string {
  if (actor.startsWith('system:')) return `System (${actor.slice('system:'.length)})`;
  if (name) return email && email !== name ? `${name} <${email}>` : name;
  return actor;
}
