import type { Knex } from 'knex';
import type { Db } from '../../infra/db.ts';
import { type AnalyticsCounts, noCounts } from '../analytics.ts';
import {
  errorKeyOf,
  FAILED_SKIP_REASONS,
  LP_CHANNEL,
  type LpOutcome,
  lpOutcomeOf,
  OUR_CHANNEL,
  ourStatesFor,
} from './outcomes.ts';

/**
 * The read side of LivePerson's Outbound Reporting API: recipients of campaigns (campaign_messages) with their
 * campaign, the times of each step (message_timeline) and their conversation, filtered and grouped as its
 * campaign report, analytics and transactions want them. Every query is scoped by the account.
 */

export interface ReportFilters {
  /** LivePerson's channel names: sms, wa, inapp. */
  channels?: string[];
  /** Skill names (or ids). */
  skills?: string[];
  handoffids?: string[];
  /** API, UI (our web tool); LPWF (LivePerson's workflows) matches nothing here. */
  source?: string[];
  messagestatus?: string[];
  transactionids?: string[];
}

const SOURCE_OF: Record<string, string> = { API: 'api', UI: 'web' };
const LP_SOURCE: Record<string, string> = { api: 'API', web: 'UI' };

function recipients(db: Db, accountId: string) {
  return db('campaign_messages as m')
    .join('campaigns as c', function () {
      this.on('c.account_id', '=', 'm.account_id').andOn('c.campaign_id', '=', 'm.campaign_id');
    })
    .leftJoin('message_timeline as t', function () {
      this.on('t.account_id', '=', 'm.account_id').andOn('t.message_id', '=', 'm.message_id');
    })
    .leftJoin('conversations as v', function () {
      this.on('v.account_id', '=', 'm.account_id').andOn('v.conversation_id', '=', 'm.conversation_id');
    })
    .leftJoin('skills as s', function () {
      this.on('s.account_id', '=', 'c.account_id').andOn('s.skill_id', '=', 'c.skill');
    })
    .where('m.account_id', accountId);
}

function applyFilters(query: Knex.QueryBuilder, filters: ReportFilters): void {
  if (filters.channels)
    query.whereIn(
      'm.channel',
      filters.channels.map((name) => OUR_CHANNEL[name] ?? name),
    );
  if (filters.skills) {
    const names = filters.skills.map((name) => name.toLowerCase());
    query.where((match) => match.whereIn('c.skill', filters.skills!).orWhereRaw('lower(s.name) = any(?)', [names]));
  }
  if (filters.handoffids) query.whereIn('c.handoff_id', filters.handoffids);
  if (filters.source)
    query.whereIn(
      'c.source',
      filters.source.map((name) => SOURCE_OF[name.toUpperCase()] ?? name),
    );
  if (filters.transactionids) query.whereIn('m.message_id', filters.transactionids);
  if (filters.messagestatus) {
    const states = filters.messagestatus.map(ourStatesFor);
    query.where((any) => {
      for (const state of states) {
        any.orWhere((one) => {
          one.whereIn('m.status', state.statuses.length > 0 ? state.statuses : ['']);
          if (state.skipReasonFailed === true)
            one.orWhere((skip) => skip.where('m.status', 'skipped').whereIn('m.reason', FAILED_SKIP_REASONS));
          if (state.skipReasonFailed === false)
            one.where((reason) => reason.whereNull('m.reason').orWhereNotIn('m.reason', FAILED_SKIP_REASONS));
        });
      }
    });
  }
}

interface RecipientRow {
  message_id: string;
  campaign_id: string;
  consumer_ref: string;
  channel: string;
  status: string;
  reason: string | null;
  error_source: string | null;
  error_code: string | null;
  error_message: string | null;
  conversation_id: string | null;
  queued_at: Date;
  sent_at: Date | null;
  segments: number | null;
  delivered_at: Date | null;
  read_at: Date | null;
  failed_at: Date | null;
  skipped_at: Date | null;
  skill_id: string | null;
  skill_name: string | null;
  handoff_id: string | null;
  opened_at: Date | null;
  closed_at: Date | null;
}

const RECIPIENT_COLUMNS = [
  'm.message_id',
  'm.campaign_id',
  'm.consumer_ref',
  'm.channel',
  'm.status',
  'm.reason',
  'm.error_source',
  'm.error_code',
  'm.error_message',
  'm.conversation_id',
  'm.queued_at',
  'm.sent_at',
  't.segments',
  't.delivered_at',
  't.read_at',
  't.failed_at',
  't.skipped_at',
  'c.skill as skill_id',
  's.name as skill_name',
  'c.handoff_id',
  'v.opened_at',
  'v.closed_at',
];

export async function campaignExists(db: Db, accountId: string, campaignId: string) {
  return db('campaigns')
    .where({ account_id: accountId, campaign_id: campaignId })
    .first<{ created_at: Date } | undefined>('created_at');
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** One recipient of a campaign as the campaign report lists it. */
function reportEntry(row: RecipientRow) {
  const outcome = lpOutcomeOf(row);
  return {
    id: row.message_id,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    errorSource: outcome.errorSource,
    status: outcome.status,
    consumerId: row.consumer_ref,
    conversationId: row.conversation_id,
    segments: row.segments ?? 1,
  };
}

/** The campaign report: every recipient in the order they were accepted, a page at a time. */
export async function campaignReport(
  db: Db,
  accountId: string,
  campaignId: string,
  page: { offset: number; limit: number },
) {
  const rows = await recipients(db, accountId)
    .where('m.campaign_id', campaignId)
    .orderBy('m.seq')
    .offset(page.offset)
    .limit(page.limit + 1)
    .select<RecipientRow[]>(RECIPIENT_COLUMNS);
  return { entries: rows.slice(0, page.limit).map(reportEntry), more: rows.length > page.limit };
}

/** One recipient as the transactions report lists it (LivePerson's field names, times in ISO 8601). */
function transaction(row: RecipientRow) {
  const outcome: LpOutcome = lpOutcomeOf(row);
  const channel = LP_CHANNEL[row.channel] ?? row.channel;
  const skill = row.skill_name ?? row.skill_id;
  const ineligible = outcome.errorSource === 'proactive' && outcome.errorCode === '1001';
  return {
    channel,
    skill,
    transactionId: row.message_id,
    attemptedTime: iso(row.queued_at),
    cancelledTime: row.reason === 'cancelled' ? iso(row.skipped_at) : null,
    conversationId: row.conversation_id,
    conversationsClosedTime: iso(row.closed_at),
    conversationsCreatedTime: iso(row.opened_at),
    consumerId: row.consumer_ref,
    deliveredTime: iso(row.delivered_at),
    eligibleTime: ineligible ? null : iso(row.queued_at),
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    errorSource: outcome.errorSource,
    failedTime: outcome.status === 'FAILED' ? iso(row.failed_at ?? row.skipped_at) : null,
    inviteTime: iso(row.sent_at),
    optInsTime: null,
    optOutsTime: null,
    proactiveCampaignId: row.campaign_id,
    readTime: iso(row.read_at),
    sentTime: iso(row.sent_at),
    initialSkill: skill,
    initialChannel: channel,
    handOffId: row.handoff_id,
    skippedTime: outcome.status === 'SKIPPED' ? iso(row.skipped_at) : null,
    ivrNumber: '',
    messageStatus: outcome.status,
    segments: row.segments ?? 1,
  };
}

/** Transactions (v2.0): recipients attempted within [start, end], oldest first, filtered, a page at a time. */
export async function transactions(
  db: Db,
  accountId: string,
  input: { start: Date; end: Date; offset: number; limit: number; filters: ReportFilters },
) {
  const query = recipients(db, accountId).whereBetween('m.queued_at', [input.start, input.end]);
  applyFilters(query, input.filters);
  const rows = await query
    .orderBy([{ column: 'm.queued_at' }, { column: 'm.message_id' }])
    .offset(input.offset)
    .limit(input.limit)
    .select<RecipientRow[]>(RECIPIENT_COLUMNS);
  return rows.map(transaction);
}

export interface AnalyticsEntry extends AnalyticsCounts {
  handoffid?: string | null;
  source?: string;
  /** LivePerson's CSAT average; null until conversations carry a survey score. */
  csat: null;
}

interface AnalyticsGroup {
  day: string;
  channel: string;
  skill_id: string | null;
  skill_name: string | null;
  handoff_id: string | null;
  source: string;
  status: string;
  reason: string | null;
  error_source: string | null;
  error_code: string | null;
  attempted: string;
  sent: string;
  delivered: string;
  read: string;
  created: string;
  closed: string;
}

/**
 * Counts per day (UTC, MM-DD-YYYY), channel and skill, and per handoff and source when those are filtered on,
 * as LivePerson's analytics define them: eligible leaves out recipients the channel cannot reach, failed counts
 * every LivePerson FAILED outcome, skipped its SKIPPED ones, errors are keyed `<source>_<code>`.
 */
export async function analytics(
  db: Db,
  accountId: string,
  input: { start?: Date; end?: Date; campaignId?: string; filters: ReportFilters },
): Promise<AnalyticsEntry[]> {
  const query = recipients(db, accountId);
  if (input.start && input.end) query.whereBetween('m.queued_at', [input.start, input.end]);
  if (input.campaignId) query.where('m.campaign_id', input.campaignId);
  applyFilters(query, input.filters);
  const keys = [
    db.raw(`to_char(m.queued_at at time zone 'UTC', 'MM-DD-YYYY') as day`),
    'm.channel',
    'c.skill as skill_id',
    's.name as skill_name',
    'c.handoff_id',
    'c.source',
    'm.status',
    'm.reason',
    'm.error_source',
    'm.error_code',
  ];
  const groups = await query
    .groupByRaw(`1, 2, 3, 4, 5, 6, 7, 8, 9, 10`)
    .select<AnalyticsGroup[]>(
      ...keys,
      db.raw('count(*) as attempted'),
      db.raw('count(m.sent_at) as sent'),
      db.raw(`count(*) filter (where t.delivered_at is not null or m.status in ('delivered', 'read')) as delivered`),
      db.raw(`count(*) filter (where t.read_at is not null or m.status = 'read') as read`),
      db.raw('count(m.conversation_id) as created'),
      db.raw('count(v.closed_at) as closed'),
    );
  const byHandoff = input.filters.handoffids !== undefined;
  const bySource = input.filters.source !== undefined;
  const entries = new Map<string, AnalyticsEntry>();
  for (const group of groups) {
    const channel = LP_CHANNEL[group.channel] ?? group.channel;
    const skill = group.skill_name ?? group.skill_id;
    const source = LP_SOURCE[group.source] ?? group.source.toUpperCase();
    const key = [group.day, channel, skill, byHandoff ? group.handoff_id : '', bySource ? source : ''].join('\u0000');
    let entry = entries.get(key);
    if (!entry) {
      entry = {
        ...noCounts(channel, skill, group.day),
        ...(byHandoff ? { handoffid: group.handoff_id } : {}),
        ...(bySource ? { source } : {}),
        csat: null,
      };
      entries.set(key, entry);
    }
    const attempted = Number(group.attempted);
    const outcome = lpOutcomeOf({ ...group, error_message: null });
    entry.attempted += attempted;
    const ineligible = outcome.errorSource === 'proactive' && outcome.errorCode === '1001';
    if (!ineligible) entry.eligible += attempted;
    if (outcome.status === 'SKIPPED') entry.skipped += attempted;
    if (outcome.status === 'FAILED') entry.failed += attempted;
    entry.sent += Number(group.sent);
    entry.delivered += Number(group.delivered);
    entry.read += Number(group.read);
    entry.conversationscreated += Number(group.created);
    entry.conversationsclosed += Number(group.closed);
    const errorKey = errorKeyOf(outcome);
    if (errorKey) entry.error_aggregation[errorKey] = (entry.error_aggregation[errorKey] ?? 0) + attempted;
  }
  const dayKey = (day: string) => `${day.slice(6)}${day.slice(0, 5)}`;
  return [...entries.values()].sort(
    (a, b) =>
      dayKey(a.transactionday).localeCompare(dayKey(b.transactionday)) ||
      a.channel.localeCompare(b.channel) ||
      (a.skill ?? '').localeCompare(b.skill ?? ''),
  );
}

/** When a campaign's recipients were attempted: the first and the last (the campaign analytics' time range). */
export async function attemptedRange(db: Db, accountId: string, campaignId: string) {
  const row = await db('campaign_messages')
    .where({ account_id: accountId, campaign_id: campaignId })
    .first<{ first: Date | null; last: Date | null }>(
      db.raw('min(queued_at) as first'),
      db.raw('max(queued_at) as last'),
    );
  return { first: row?.first ?? null, last: row?.last ?? null };
}
