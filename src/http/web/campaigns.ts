import { Router } from 'express';
import { cancelCampaign } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { isCancellable } from '../../domain/campaign.ts';
import { DomainError } from '../../domain/decider.ts';
import { campaignRecipients } from './campaign-recipients.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;
const PAGE = 25;
const STATUSES = ['draft', 'scheduled', 'queued', 'in_progress', 'completed', 'cancelled', 'failed'];
const DONE = ['sent', 'delivered', 'read', 'responded', 'undelivered', 'failed', 'skipped'];
const REACHED = ['sent', 'delivered', 'read', 'responded'];
const ID = /^[0-9a-f]{32}$/;

const page = (value: unknown) => Math.max(1, Math.min(10_000, Number.parseInt(String(value ?? '1'), 10) || 1));

/** F10/F16 pages: the campaigns list, and each campaign's live progress, recipients, cancel and analytics. */
export function campaignWebRoutes(app: AppContext): Router {
  const router = Router();
  const recipientsOf = campaignRecipients(app);

  const names = async (accountId: string) =>
    new Map(
      (await app.db('users').where({ account_id: accountId }).select('user_id', 'name')).map((row) => [
        row.user_id as string,
        row.name as string,
      ]),
    );

  router.get('/campaigns', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['campaigns']);
    const accountId = req.user!.accountId;
    const status = STATUSES.includes(String(req.query.status)) ? String(req.query.status) : '';
    const current = page(req.query.page);
    const base = app.db('campaigns').where({ account_id: accountId });
    if (status) base.andWhere({ status });
    const [rows, total] = await Promise.all([
      base
        .clone()
        .orderBy('created_at', 'desc')
        .limit(PAGE)
        .offset((current - 1) * PAGE)
        .select(
          'campaign_id',
          'name',
          'status',
          'channel',
          'sender_address',
          'created_by',
          'created_at',
          'recipient_count',
        ),
      base.clone().count<{ count: string }[]>('* as count'),
    ]);
    const ids = rows.map((row) => row.campaign_id as string);
    const reached = await app
      .db('campaign_messages')
      .where({ account_id: accountId })
      .whereIn('campaign_id', ids)
      .whereIn('status', REACHED)
      .groupBy('campaign_id')
      .select('campaign_id')
      .count<{ campaign_id: string; count: string }[]>('* as count');
    const sent = new Map(reached.map((row) => [row.campaign_id, Number(row.count)]));
    const users = await names(accountId);
    const count = Number(total[0]?.count ?? 0);
    res.render('campaigns/index', {
      title: 'Campaigns',
      campaigns: rows.map((row) => ({
        ...row,
        sent: sent.get(row.campaign_id) ?? 0,
        createdBy: users.get(row.created_by) ?? row.created_by,
      })),
      status,
      statuses: STATUSES,
      page: current,
      pages: Math.max(1, Math.ceil(count / PAGE)),
      total: count,
      canCreate: (EDITORS as readonly string[]).includes(req.user!.role),
    });
  });

  async function progressOf(accountId: string, campaignId: string) {
    const campaign = await app.db('campaigns').where({ account_id: accountId, campaign_id: campaignId }).first();
    if (!campaign) return null;
    const grouped = await app
      .db('campaign_messages')
      .where({ account_id: accountId, campaign_id: campaignId })
      .groupBy('status')
      .select('status')
      .count<{ status: string; count: string }[]>('* as count');
    const counts = Object.fromEntries(grouped.map((row) => [row.status, Number(row.count)])) as Record<string, number>;
    const total = Math.max(
      campaign.recipient_count as number,
      Object.values(counts).reduce((a, b) => a + b, 0),
    );
    const done = DONE.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
    const reached = REACHED.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
    return {
      campaign,
      counts,
      total,
      done,
      reached,
      percent: total === 0 ? 0 : Math.floor((done / total) * 100),
      live: ['scheduled', 'queued', 'in_progress'].includes(campaign.status),
      cancellable: isCancellable(campaign.status),
    };
  }

  const notFound = () => new DomainError('CAMPAIGN_NOT_FOUND', 'There is no such campaign in this account.');

  router.get('/campaigns/:id', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['campaigns', 'campaign-messages']);
    const campaignId = String(req.params.id);
    if (!ID.test(campaignId)) throw notFound();
    const progress = await progressOf(req.user!.accountId, campaignId);
    if (!progress) throw notFound();
    const users = await names(req.user!.accountId);
    res.render('campaigns/show', {
      title: progress.campaign.name,
      ...progress,
      ...(await recipientsOf(req, campaignId)),
      createdBy: users.get(progress.campaign.created_by) ?? progress.campaign.created_by,
      canCancel: progress.cancellable && (EDITORS as readonly string[]).includes(req.user!.role),
    });
  });

  router.get('/campaigns/:id/progress', requireUser, async (req, res) => {
    const campaignId = String(req.params.id);
    if (!ID.test(campaignId)) throw notFound();
    const progress = await progressOf(req.user!.accountId, campaignId);
    if (!progress) throw notFound();
    // Each poll brings the recipients table along (out of band). Once the campaign is over, 286 tells htmx to stop
    // polling (CONVENTIONS): the last answer shows the final counts and every recipient's outcome.
    res.status(progress.live ? 200 : 286).render('campaigns/_poll', {
      ...progress,
      ...(await recipientsOf(req, campaignId)),
      canCancel: (EDITORS as readonly string[]).includes(req.user!.role),
    });
  });

  router.get('/campaigns/:id/analytics', requireUser, async (req, res) => {
    const campaignId = String(req.params.id);
    if (!ID.test(campaignId)) throw notFound();
    const progress = await progressOf(req.user!.accountId, campaignId);
    if (!progress) throw notFound();
    const perMinute = await app
      .db('campaign_messages')
      .where({ account_id: req.user!.accountId, campaign_id: campaignId })
      .whereNotNull('sent_at')
      .groupByRaw("date_trunc('minute', sent_at)")
      .orderByRaw("date_trunc('minute', sent_at)")
      .select(app.db.raw("date_trunc('minute', sent_at) as minute"))
      .count<{ minute: Date; count: string }[]>('* as count');
    const c = progress.counts;
    const funnel = [
      { label: 'Recipients', value: progress.total },
      { label: 'Sent', value: progress.reached + (c.undelivered ?? 0) },
      { label: 'Delivered', value: (c.delivered ?? 0) + (c.read ?? 0) + (c.responded ?? 0) },
      { label: 'Read', value: (c.read ?? 0) + (c.responded ?? 0) },
      { label: 'Responded', value: c.responded ?? 0 },
    ];
    res.render('campaigns/analytics', {
      title: `${progress.campaign.name} · Analytics`,
      ...progress,
      funnel,
      series: perMinute.map((row) => ({ minute: new Date(row.minute), count: Number(row.count) })),
    });
  });

  router.post('/campaigns/:id/cancel', requireRole(...EDITORS), async (req, res) => {
    const campaignId = String(req.params.id);
    if (!ID.test(campaignId)) throw notFound();
    const result = await cancelCampaign(
      app,
      {
        accountId: req.user!.accountId,
        campaignId,
        cancelledBy: req.user!.userId,
        reason: 'Cancelled in the web tool',
      },
      { actor: req.user!.userId },
    );
    res.redirect(303, withPosition(`/campaigns/${campaignId}`, result.position));
  });

  return router;
}
