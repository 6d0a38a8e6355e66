import { type Request, type Response, Router } from 'express';
import multer from 'multer';
import { loadAccount } from '../../app/accounts.ts';
import type { AppContext } from '../../app/context.ts';
import { CsvFileError } from '../../app/csv-file.ts';
import { loadInAppApps } from '../../app/inapp.ts';
import { createInAppCampaign } from '../../app/inapp-campaigns.ts';
import { inAppRecipientsFromCsv } from '../../app/inapp-recipients.ts';
import { findSkill } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { placeholdersOf } from '../../domain/sms.ts';
import { isHtmx } from '../errors.ts';
import { withPosition } from './consistency.ts';
import { requireRole } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;
const PATH = '/campaigns/inapp';
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 5 * 1024 * 1024, files: 1, fields: 20 } });
const uploadErrors = new WeakMap<Request, unknown>();

/** The In-App form is multipart (its CSV): read before the CSRF check, which needs its token field. */
export function inAppWizardUploadParser(): Router {
  const router = Router();
  router.post(PATH, (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    upload.single('file')(req, res, (error: unknown) => {
      if (error) uploadErrors.set(req, error);
      next();
    });
  });
  return router;
}

const field = (req: Request, name: string) => {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * F6 in the web wizard: an In-App campaign to a CSV of the brand's consumer ids (a `consumerId` column; other columns
 * are variables), with its app, title, text and optional image, published at once.
 */
export function inAppWizardRoutes(app: AppContext): Router {
  const router = Router();

  async function render(
    req: Request,
    res: Response,
    extra: { error?: DomainError | CsvFileError; status?: number } = {},
  ) {
    const accountId = req.user!.accountId;
    const { apps } = await loadInAppApps(app, accountId);
    const account = await loadAccount(app, accountId);
    res.status(extra.status ?? 200).render('campaigns/new-inapp', {
      title: 'New In-App campaign',
      apps: Object.keys(apps),
      skills: Object.entries(account.settings.skills).map(([id, skill]) => ({ id, name: skill.name })),
      error: extra.error?.message ?? null,
      field: extra.error instanceof DomainError ? (extra.error.field ?? null) : 'file',
      input: extra.error ? (req.body ?? {}) : {},
    });
  }

  router.get('/campaigns/new/inapp', requireRole(...EDITORS), async (req, res) => {
    await render(req, res);
  });

  router.post(PATH, requireRole(...EDITORS), async (req, res) => {
    try {
      const uploadError = uploadErrors.get(req);
      if (uploadError)
        throw new DomainError('INVALID_FIELD', 'The upload was refused: send one CSV file of at most 5 MB.', 'file');
      if (!req.file || req.file.size === 0) {
        throw new DomainError('NO_RECIPIENTS', 'Choose a CSV file with a consumerId column.', 'file');
      }
      const text = field(req, 'text');
      const wanted = new Set(placeholdersOf(text));
      const recipients = (await inAppRecipientsFromCsv(req.file.buffer)).map((row) => ({
        consumerId: row.consumerId,
        variables: Object.fromEntries(Object.entries(row.variables).filter(([name]) => wanted.has(name))),
      }));
      if (recipients.length === 0)
        throw new DomainError('NO_RECIPIENTS', 'The file has no consumer ids below its header.', 'file');
      const account = await loadAccount(app, req.user!.accountId);
      const skill = field(req, 'skill') ? findSkill(account.settings, field(req, 'skill')) : undefined;
      const created = await createInAppCampaign(
        { ...app, personalData: app.channels.personalData },
        {
          accountId: req.user!.accountId,
          name: field(req, 'name'),
          appId: field(req, 'appId'),
          title: field(req, 'title').trim().slice(0, 100),
          text,
          imageUrl: field(req, 'imageUrl').trim() || null,
          linkUrl: field(req, 'linkUrl').trim() || null,
          skillId: skill?.[0] ?? null,
          source: 'web',
          consent: field(req, 'consent') === 'on',
          recipients,
          publish: true,
          imageHosts: app.config.INAPP_IMAGE_HOSTS,
        },
        { actor: req.user!.userId },
      );
      const page = withPosition(`/campaigns/${created.campaignId}`, created.position);
      if (isHtmx(req)) res.set('HX-Redirect', page).status(200).end();
      else res.redirect(303, page);
    } catch (error) {
      if (!(error instanceof DomainError) && !(error instanceof CsvFileError)) throw error;
      await render(req, res, { error, status: 422 });
    }
  });
  return router;
}
