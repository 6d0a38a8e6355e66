import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import multer from 'multer';
import { loadAccount } from '../../app/accounts.ts';
import { createSmsCampaign } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { MAX_UPLOAD_ROWS, previewRecipients } from '../../app/csv-recipients.ts';
import { DomainError } from '../../domain/decider.ts';
import { DEFAULT_OPT_OUT_TEXT, placeholdersOf, SMS_MAX_LENGTH, smsLength } from '../../domain/sms.ts';
import { httpStatus } from '../domain-statuses.ts';
import { describeUnsafeText, findUnsafeText, findUnsafeTextInFile } from '../safe-text.ts';
import { withPosition } from './consistency.ts';
import { requireRole } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const UPLOAD_ID = /^[0-9a-f-]{36}$/;

/** The file arrives in memory (at most 5 MB, one file) and is parsed as a stream of records. */
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 20 } });

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The message's length against the 140 limit, with the opt-out line, placeholders counted as empty. */
export function messageLength(text: string, optOut: string) {
  const length = smsLength(text.replace(/\$?\{\{\s*[A-Za-z0-9_]+\s*\}\}/g, ''), optOut || DEFAULT_OPT_OUT_TEXT);
  return { length, max: SMS_MAX_LENGTH, over: length > SMS_MAX_LENGTH, placeholders: placeholdersOf(text) };
}

/**
 * F10, the new-campaign wizard: name, sender, message (a live counter), recipients from a CSV or typed numbers,
 * "Parse" to preview every row (normalized number, the message as sent, errors on their rows), schedule, review,
 * publish. The parsed list waits server-side between Parse and Publish, so the file is sent once.
 */
export function campaignWizardRoutes(app: AppContext): Router {
  const router = Router();

  async function renderForm(req: Request, res: Response, extra: { error?: DomainError; status?: number } = {}) {
    const account = await loadAccount(app, req.user!.accountId);
    const senders = Object.entries(account.settings.senders)
      .filter(([, sender]) => sender.channel === 'sms')
      .map(([id, sender]) => ({ id, ...sender }));
    const text = field(req, 'text');
    const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
    res.status(extra.status ?? 200).render('campaigns/new', {
      title: 'New campaign',
      senders,
      form: {
        name: field(req, 'name'),
        senderId: field(req, 'senderId'),
        text,
        optOut,
        when: field(req, 'when') || 'now',
        sendAt: field(req, 'sendAt'),
        uploadId: field(req, 'uploadId'),
      },
      counter: messageLength(text, optOut),
      error: extra.error ? { message: extra.error.message, field: extra.error.field ?? null } : null,
      proactiveActive: account.proactiveActive,
      maxRows: MAX_UPLOAD_ROWS,
    });
  }

  router.get('/campaigns/new', requireRole(...EDITORS), async (req, res) => {
    await renderForm(req, res);
  });

  router.post('/campaigns/new/count', requireRole(...EDITORS), (req, res) => {
    res.render('campaigns/_counter', { counter: messageLength(field(req, 'text'), field(req, 'optOut')) });
  });

  router.post('/campaigns/new/preview', requireRole(...EDITORS), (req, res, next) => {
    upload.single('file')(req, res, (error: unknown) => {
      if (error instanceof multer.MulterError) {
        const message =
          error.code === 'LIMIT_FILE_SIZE'
            ? 'The file is larger than 5 MB.'
            : `The upload was refused: ${error.message}.`;
        res.status(error.code === 'LIMIT_FILE_SIZE' ? 413 : 400).render('campaigns/_preview', {
          preview: null,
          error: message,
        });
        return;
      }
      if (error) return next(error);
      void preview(req, res).catch(next);
    });
  });

  async function preview(req: Request, res: Response) {
    const text = field(req, 'text');
    const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
    const typed = field(req, 'numbers');
    const unsafe = findUnsafeText(req.body) ?? (req.file ? findUnsafeTextInFile(req.file.buffer, 'file') : null);
    if (unsafe) {
      res.status(400).render('campaigns/_preview', { preview: null, error: describeUnsafeText(unsafe) });
      return;
    }
    if (!text.trim()) {
      res
        .status(400)
        .render('campaigns/_preview', { preview: null, error: 'Write the message before parsing recipients.' });
      return;
    }
    if (!req.file && !typed.trim()) {
      res.status(400).render('campaigns/_preview', {
        preview: null,
        error: 'Choose a CSV file or type numbers, one per line, with their country code.',
      });
      return;
    }
    let result: Awaited<ReturnType<typeof previewRecipients>>;
    try {
      result = await previewRecipients(req.file ? { csv: req.file.buffer } : { typed }, { text, optOut });
    } catch (error) {
      res.status(400).render('campaigns/_preview', {
        preview: null,
        error: `The file could not be read as CSV: ${(error as Error).message}`,
      });
      return;
    }
    const uploadId = randomUUID();
    if (result.valid.length > 0) {
      await app.db('campaign_uploads').insert({
        upload_id: uploadId,
        account_id: req.user!.accountId,
        user_id: req.user!.userId,
        text,
        opt_out: optOut,
        recipients: JSON.stringify(result.valid),
        total: result.total,
        errors: result.errors,
        created_at: new Date(),
      });
    }
    // Lists parsed but never published are personal data nobody needs: a day later they go.
    await app
      .db('campaign_uploads')
      .where({ account_id: req.user!.accountId })
      .andWhere('created_at', '<', new Date(Date.now() - 86_400_000))
      .delete();
    res.render('campaigns/_preview', {
      preview: { ...result, uploadId: result.valid.length > 0 ? uploadId : null, maxRows: MAX_UPLOAD_ROWS },
      error: null,
    });
  }

  router.post('/campaigns', requireRole(...EDITORS), async (req, res) => {
    const accountId = req.user!.accountId;
    try {
      const uploadId = field(req, 'uploadId');
      const parsed = UPLOAD_ID.test(uploadId)
        ? await app
            .db('campaign_uploads')
            .where({ upload_id: uploadId, account_id: accountId, user_id: req.user!.userId })
            .first<
              | { text: string; opt_out: string; recipients: { phone: string; variables: Record<string, string> }[] }
              | undefined
            >()
        : undefined;
      if (!parsed) {
        throw new DomainError(
          'NO_RECIPIENTS',
          'Parse the recipients (and fix what the preview shows) before publishing.',
          'recipients',
        );
      }
      const text = field(req, 'text');
      const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
      if (text !== parsed.text || optOut !== parsed.opt_out) {
        throw new DomainError(
          'PREVIEW_OUTDATED',
          'The message changed since the preview: parse the recipients again.',
          'text',
        );
      }
      let sendAt: Date | undefined;
      if (field(req, 'when') === 'later') {
        sendAt = new Date(field(req, 'sendAt'));
        if (Number.isNaN(sendAt.getTime()) || sendAt.getTime() <= Date.now()) {
          throw new DomainError('INVALID_FIELD', 'Choose a time in the future to schedule the campaign.', 'sendAt');
        }
      }
      const created = await createSmsCampaign(
        { ...app, personalData: app.channels.personalData },
        {
          accountId,
          name: field(req, 'name'),
          senderId: field(req, 'senderId'),
          text,
          optOutText: optOut,
          source: 'web',
          consent: field(req, 'consent') === 'on',
          recipients: parsed.recipients,
          publish: true,
          sendAt,
        },
        { actor: req.user!.userId },
      );
      await app.db('campaign_uploads').where({ upload_id: uploadId, account_id: accountId }).delete();
      res.redirect(303, withPosition(`/campaigns/${created.campaignId}`, created.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await renderForm(req, res, { error, status: httpStatus(error) });
    }
  });

  return router;
}
