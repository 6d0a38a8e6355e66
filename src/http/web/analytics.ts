import { Router } from 'express';
import { DateTime } from 'luxon';
import { type AnalyticsRow, accountAnalytics } from '../../app/analytics.ts';
import type { AppContext } from '../../app/context.ts';
import { requireUser } from './session.ts';

const MAX_DAYS = 60;
const METRICS = [
  'attempted',
  'eligible',
  'skipped',
  'optOuts',
  'sent',
  'failed',
  'delivered',
  'read',
  'responded',
  'conversationscreated',
] as const;
const LABELS: Record<(typeof METRICS)[number], string> = {
  attempted: 'Attempted',
  eligible: 'Eligible',
  skipped: 'Skipped',
  optOuts: 'Opt-outs',
  sent: 'Sent',
  failed: 'Failed',
  delivered: 'Delivered',
  read: 'Read',
  responded: 'Responded',
  conversationscreated: 'Conversations',
};

/** F16 for the account: totals, skips by reason, and sends per day, filtered by dates, channel and skill. */
export function analyticsRoutes(app: AppContext): Router {
  const router = Router();

  router.get('/analytics', requireUser, async (req, res) => {
    const accountId = req.user!.accountId;
    const today = DateTime.utc().toISODate()!;
    const asDate = (value: unknown) =>
      typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && DateTime.fromISO(value).isValid ? value : null;
    let to = asDate(req.query.to) ?? today;
    let from = asDate(req.query.from) ?? DateTime.fromISO(to).minus({ days: 13 }).toISODate()!;
    let notice: string | null = null;
    if (from > to) [from, to] = [to, from];
    if (DateTime.fromISO(to).diff(DateTime.fromISO(from), 'days').days + 1 > MAX_DAYS) {
      from = DateTime.fromISO(to)
        .minus({ days: MAX_DAYS - 1 })
        .toISODate()!;
      notice = `A report covers at most ${MAX_DAYS} days; showing the ${MAX_DAYS} up to ${to}.`;
    }
    const channel = ['sms', 'whatsapp', 'inapp'].includes(String(req.query.channel)) ? String(req.query.channel) : '';
    const skills = await app.db('skills').where({ account_id: accountId }).orderBy('name').select('skill_id', 'name');
    const skill = skills.some((row) => row.skill_id === req.query.skill) ? String(req.query.skill) : '';
    const rows = await accountAnalytics(app, accountId, {
      from,
      to,
      channel: channel || undefined,
      skillIds: skill ? [skill] : undefined,
    });
    const totals = Object.fromEntries(METRICS.map((metric) => [metric, 0])) as Record<(typeof METRICS)[number], number>;
    const skipped: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const perDay = new Map<string, { sent: number; delivered: number; failed: number }>();
    for (const row of rows as AnalyticsRow[]) {
      for (const metric of METRICS) totals[metric] += row[metric];
      for (const [reason, count] of Object.entries(row.skipped_aggregation))
        skipped[reason] = (skipped[reason] ?? 0) + count;
      for (const [code, count] of Object.entries(row.error_aggregation)) errors[code] = (errors[code] ?? 0) + count;
      const day = perDay.get(row.transactionday) ?? { sent: 0, delivered: 0, failed: 0 };
      day.sent += row.sent;
      day.delivered += row.delivered;
      day.failed += row.failed;
      perDay.set(row.transactionday, day);
    }
    const days: { day: string; sent: number; delivered: number; failed: number }[] = [];
    for (let day = DateTime.fromISO(from); day.toISODate()! <= to; day = day.plus({ days: 1 })) {
      const key = day.toISODate()!;
      days.push({ day: key, ...(perDay.get(key) ?? { sent: 0, delivered: 0, failed: 0 }) });
    }
    res.render('analytics/index', {
      title: 'Analytics',
      filters: { from, to, channel, skill },
      skills,
      notice,
      totals: METRICS.map((metric) => ({ metric, label: LABELS[metric], value: totals[metric] })),
      skipped: Object.entries(skipped).sort((a, b) => b[1] - a[1]),
      errors: Object.entries(errors).sort((a, b) => b[1] - a[1]),
      days,
      empty: rows.length === 0,
    });
  });

  return router;
}
