import { DateTime } from 'luxon';
import type { AppContext } from './context.ts';

/** One day, channel and skill of LivePerson's Outbound Reporting analytics: the counts both our reports give. */
export interface AnalyticsCounts {
  channel: string;
  skill: string | null;
  transactionday: string;
  attempted: number;
  eligible: number;
  skipped: number;
  sent: number;
  failed: number;
  delivered: number;
  read: number;
  conversationscreated: number;
  conversationsclosed: number;
  error_aggregation: Record<string, number>;
}

/** Nothing counted yet for that day, channel and skill. */
export const noCounts = (channel: string, skill: string | null, transactionday: string): AnalyticsCounts => ({
  channel,
  skill,
  transactionday,
  attempted: 0,
  eligible: 0,
  skipped: 0,
  sent: 0,
  failed: 0,
  delivered: 0,
  read: 0,
  conversationscreated: 0,
  conversationsclosed: 0,
  error_aggregation: {},
});

export interface AnalyticsRow extends AnalyticsCounts {
  skipped_aggregation: Record<string, number>;
  optOuts: number;
  responded: number;
}

/** Counts per day, channel and skill in LivePerson's Outbound Reporting shape, plus opt-outs and responses. */
export async function accountAnalytics(
  app: Pick<AppContext, 'db'>,
  accountId: string,
  range: { from: string; to: string; channel?: string; skillIds?: string[] },
) {
  const query = app
    .db('account_daily_stats as s')
    .leftJoin('campaigns as c', function () {
      this.on('c.account_id', '=', 's.account_id').andOn('c.campaign_id', '=', 's.campaign_id');
    })
    .where('s.account_id', accountId)
    .andWhereBetween('s.day', [range.from, range.to])
    .groupBy('s.day', 's.channel', 'c.skill', 's.metric')
    .select('s.day', 's.channel', 'c.skill', 's.metric')
    .count<{ day: Date | string; channel: string; skill: string | null; metric: string; count: string }[]>(
      '* as count',
    );
  if (range.channel) query.andWhere('s.channel', range.channel);
  if (range.skillIds) query.whereIn('c.skill', range.skillIds);
  const skills = new Map(
    (
      await app
        .db('skills')
        .where({ account_id: accountId })
        .select<{ skill_id: string; name: string }[]>('skill_id', 'name')
    ).map((skill) => [skill.skill_id, skill.name]),
  );
  const rows = new Map<string, AnalyticsRow>();
  for (const group of await query) {
    const transactionday =
      typeof group.day === 'string' ? group.day.slice(0, 10) : DateTime.fromJSDate(group.day).toISODate()!;
    const skill = group.skill ? (skills.get(group.skill) ?? group.skill) : null;
    const key = `${transactionday}|${group.channel}|${skill}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        ...noCounts(group.channel, skill, transactionday),
        skipped_aggregation: {},
        optOuts: 0,
        responded: 0,
      };
      rows.set(key, row);
    }
    const count = Number(group.count);
    const [metric, detail] = group.metric.split(':', 2) as [string, string | undefined];
    switch (metric) {
      case 'error':
        row.error_aggregation[detail!] = (row.error_aggregation[detail!] ?? 0) + count;
        break;
      case 'skipped':
        if (detail) row.skipped_aggregation[detail] = (row.skipped_aggregation[detail] ?? 0) + count;
        else row.skipped += count;
        break;
      case 'undelivered':
        row.failed += count;
        break;
      case 'opt-outs':
        row.optOuts += count;
        break;
      case 'conversations-created':
        row.conversationscreated += count;
        break;
      case 'conversations-closed':
        row.conversationsclosed += count;
        break;
      case 'attempted':
      case 'sent':
      case 'failed':
      case 'delivered':
      case 'read':
      case 'responded':
        row[metric] += count;
        break;
    }
  }
  for (const row of rows.values()) row.eligible = Math.max(0, row.attempted - row.skipped);
  return [...rows.values()].sort(
    (a, b) =>
      a.transactionday.localeCompare(b.transactionday) ||
      a.channel.localeCompare(b.channel) ||
      (a.skill ?? '').localeCompare(b.skill ?? ''),
  );
}
