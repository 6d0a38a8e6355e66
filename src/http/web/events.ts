import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../app/context.ts';
import { DomainError } from '../../domain/decider.ts';
import { eventSchemas } from '../../domain/events.ts';
import { normalizePhone } from '../../domain/sms.ts';
import { formatPosition, type GlobalPosition, parsePosition } from '../../eventstore/port.ts';
import { findProjection, projections } from '../../projections/index.ts';
import { replayProjection } from '../../projections/replay.ts';
import { readYourWrites } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const PAGE_SIZE = 50;

const filtersSchema = z.object({
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
    let filterError: string | null = null;
    if (filters.campaign) {
      query.andWhere((campaign) =>
        campaign
          .where('e.stream_id', `campaign-${filters.campaign}`)
          .orWhereRaw("e.data->>'campaignId' = ?", [filters.campaign]),
      );
    }
    if (filters.recipient) {
      // Numbers never appear in events: the recipient is found through the HMAC ref of their E.164 number.
      const phone = normalizePhone(filters.recipient);
      if (!phone) {
        filterError = `${filters.recipient} is not a phone number; give it with its country code, e.g. +14155550100.`;
        query.whereRaw('false');
      } else {
        const ref = await app.channels.personalData.consumerRef(accountId, phone);
        const messages = await app
          .db('campaign_messages')
          .where({ account_id: accountId, consumer_ref: ref })
          .pluck<string[]>('message_id');
        const conversations = await app
          .db('conversations')
          .where({ account_id: accountId, consumer_ref: ref })
          .pluck<string[]>('conversation_id');
        query.andWhere((recipient) =>
          recipient
            .whereIn('e.stream_id', [
              `consumer-${accountId}.${ref}`,
              ...messages.map((id) => `message-${id}`),
              ...conversations.map((id) => `conversation-${id}`),
            ])
            .orWhereRaw("e.data->>'consumerRef' = ?", [ref]),
        );
      }
    }
    if (filters.user) query.andWhere('e.actor', filters.user);
    for (const [bound, operator] of [
      ['from', '>='],
      ['to', '<'],
    ] as const) {
      const value = filters[bound];
      if (!value) continue;
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) {
        filterError = `${bound === 'from' ? 'From' : 'To'} is not a date.`;
        continue;
      }
      // "To" a day means through the end of that day.
      if (bound === 'to' && /^\d{4}-\d{2}-\d{2}$/.test(value)) date.setUTCDate(date.getUTCDate() + 1);
      query.andWhere('e.occurred_at', operator, date);
    }
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
      users: await app.db('users').where({ account_id: accountId }).orderBy('name').select('user_id', 'name'),
      nextCursor,
      cursorError: cursorError ?? filterError,
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
      replays: [...replays.values()],
      isAdmin: req.user!.role === 'admin',
    });
  });

  // An admin rebuilds a read model from the first event, while the app keeps serving; progress shows live.
  router.post('/events/replay', requireRole('admin'), async (req, res) => {
    const name = typeof req.body?.projection === 'string' ? req.body.projection : '';
    const projection = findProjection(name);
    if (!projection) throw new DomainError('UNKNOWN_PROJECTION', 'There is no read model by that name.', 'projection');
    const running = replays.get(name);
    if (running?.status === 'running') throw new DomainError('REPLAY_RUNNING', `${name} is being rebuilt already.`);
    const state: ReplayState = { name, status: 'running', events: 0, startedAt: new Date(), message: null };
    replays.set(name, state);
    void replayProjection(app.db, app.store, projection, {
      log: app.log,
      onProgress: (events: number) => {
        state.events = events;
      },
    }).then(
      (result) => {
        state.status = 'done';
        state.events = result.events;
        state.message = `${result.events.toLocaleString('en-US')} events in ${result.ms} ms`;
      },
      (error: unknown) => {
        state.status = 'failed';
        state.message = error instanceof Error ? error.message : String(error);
        app.log.error({ err: error, projection: name }, 'replay from the web tool failed');
      },
    );
    res.redirect(303, '/events/replays');
  });

  router.get('/events/replays', requireUser, (_req, res) => {
    res.render('events/replays', { title: 'Read model rebuilds', replays: [...replays.values()] });
  });

  router.get('/events/replays/progress', requireUser, (_req, res) => {
    res.render('events/_replays', { replays: [...replays.values()] });
  });

  return router;
}

interface ReplayState {
  name: string;
  status: 'running' | 'done' | 'failed';
  events: number;
  startedAt: Date;
  message: string | null;
}

/** Rebuilds started from this process (the CLI's are its own); kept until the process ends. */
const replays = new Map<string, ReplayState>();

function describeActor(actor: string, name: string | null, email: string | null): string {
  if (actor.startsWith('system:')) return `System (${actor.slice('system:'.length)})`;
  if (name) return email && email !== name ? `${name} <${email}>` : name;
  return actor;
}
