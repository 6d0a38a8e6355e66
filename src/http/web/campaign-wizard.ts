import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import multer from 'multer';
import { loadAccount } from '../../app/accounts.ts';
import { DEFAULT_CONSENT_STATEMENT, requestSmsCampaign } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import { binaryKindOf, ENCODING_LABELS } from '../../app/csv-file.ts';
import { CsvFileError, MAX_UPLOAD_ROWS, previewRecipients, type RecipientsPreview } from '../../app/csv-recipients.ts';
import { flagCachedLandlines } from '../../app/line-types.ts';
import { DomainError } from '../../domain/decider.ts';
import { callingCode, countryName } from '../../domain/phone-input.ts';
import {
  DEFAULT_OPT_OUT_TEXT,
  placeholdersOf,
  SMS_MAX_LENGTH,
  smsLength,
  withoutPlaceholders,
} from '../../domain/sms.ts';
import { isHtmx } from '../errors.ts';
import { describeUnsafeText, findUnsafeText, findUnsafeTextInFile } from '../safe-text.ts';
import { withPosition } from './consistency.ts';
import { requireRole } from './session.ts';
import { problemText, publishError } from './wizard-messages.ts';
import {
  type CheckedAgainst,
  checkedAgainst,
  publishWhatsApp,
  sameRoute,
  type WizardRoute,
  whatsappRowMessage,
  whatsappStep,
  wizardRoute,
} from './wizard-whatsapp.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const UPLOAD_ID = /^[0-9a-f-]{36}$/;
const PREVIEW_PATH = '/campaigns/new/preview';

/** The file arrives in memory (at most 5 MB, one file) and is parsed as a stream of records. */
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 20 } });
const uploadErrors = new WeakMap<Request, unknown>();

/**
 * Reads the Parse form's multipart body before the CSRF check, so that the form works without JavaScript too (its
 * `_csrf` field is inside that body). Mounted ahead of verifyCsrf; a refused upload is answered by the route, after
 * the session and role checks.
 */
export function wizardUploadParser(): Router {
  const router = Router();
  router.post(PREVIEW_PATH, (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    upload.single('file')(req, res, (error: unknown) => {
      if (error) uploadErrors.set(req, error);
      next();
    });
  });
  return router;
}

function field(req: Request, name: string): string {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** The message's length against the 140 limit, with the opt-out line, placeholders counted as empty. */
export function messageLength(text: string, optOut: string) {
  const length = smsLength(withoutPlaceholders(text), optOut || DEFAULT_OPT_OUT_TEXT);
  return { length, max: SMS_MAX_LENGTH, over: length > SMS_MAX_LENGTH, placeholders: placeholdersOf(text) };
}

type StoredPreview = Omit<RecipientsPreview, 'valid'> & {
  accepted: number;
  fileName: string | null;
  whatsapp?: CheckedAgainst | null;
};

interface Shown {
  preview?: (StoredPreview & { uploadId: string | null }) | null;
  previewError?: string | null;
  error?: DomainError;
  status?: number;
}

/** When to send: now, or the chosen time (in the future). */
function sendAtOf(req: Request): Date | undefined {
  if (field(req, 'when') !== 'later') return undefined;
  const sendAt = new Date(field(req, 'sendAt'));
  if (Number.isNaN(sendAt.getTime()) || sendAt.getTime() <= Date.now()) {
    throw new DomainError('INVALID_FIELD', 'Choose a time in the future to schedule the campaign.', 'sendAt');
  }
  return sendAt;
}

/** What the preview partial needs to say how the list was read, in words. */
function previewView(preview: Shown['preview']) {
  if (!preview) return null;
  return {
    ...preview,
    maxRows: MAX_UPLOAD_ROWS,
    encodingLabel: preview.encoding ? ENCODING_LABELS[preview.encoding] : null,
    delimiterLabel: { ',': 'commas', ';': 'semicolons', '\t': 'tabs' }[preview.delimiter ?? ''] ?? null,
    country: preview.defaultCountry
      ? `${countryName(preview.defaultCountry)} (+${callingCode(preview.defaultCountry)})`
      : null,
    rows: preview.rows.map((row) => ({
      ...row,
      // A 10,000-character cell would drown the table; the row keeps its value, the preview shows its start.
      input: row.input.length > 200 ? `${row.input.slice(0, 200)}…` : row.input,
      written: row.written.length > 60 ? `${row.written.slice(0, 60)}…` : row.written,
      problem: row.error ? problemText(row.error) : null,
    })),
  };
}

/**
 * F10, the new-campaign wizard: name, sender, message (a live counter), recipients from a CSV or typed numbers,
 * "Parse" to preview every row (normalized number, the message as sent, errors on their rows), schedule, review,
 * publish. The parsed list and its preview wait server-side between Parse and Publish, so the file is sent once,
 * and a refused publish shows them again. Everything works as plain forms; htmx swaps the preview and the form.
 */
export function campaignWizardRoutes(app: AppContext): Router {
  const router = Router();

  async function renderForm(req: Request, res: Response, shown: Shown = {}) {
    const account = await loadAccount(app, req.user!.accountId);
    const senders = Object.entries(account.settings.senders)
      .filter(([, sender]) => sender.channel === 'sms')
      .map(([id, sender]) => ({ id, ...sender }));
    const text = field(req, 'text');
    const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
    const error = shown.error ? publishError(shown.error) : null;
    const handoffId = field(req, 'handoffId');
    res.status(shown.status ?? 200).render(isHtmx(req) ? 'campaigns/_form' : 'campaigns/new', {
      title: 'New campaign',
      senders,
      whatsapp: await whatsappStep(app, req.user!.accountId, handoffId),
      form: {
        name: field(req, 'name'),
        handoffId,
        senderId: field(req, 'senderId'),
        text,
        optOut,
        numbers: field(req, 'numbers'),
        when: field(req, 'when') || 'now',
        sendAt: field(req, 'sendAt'),
        consent: field(req, 'consent') === 'on',
        consentStatement:
          req.body?.consentStatement === undefined ? DEFAULT_CONSENT_STATEMENT.web : field(req, 'consentStatement'),
      },
      counter: messageLength(text, optOut),
      error,
      proactiveActive: account.proactiveActive,
      maxRows: MAX_UPLOAD_ROWS,
      defaultCountry: account.settings.defaultCountry
        ? `${countryName(account.settings.defaultCountry)} (+${callingCode(account.settings.defaultCountry)})`
        : null,
      preview: previewView(shown.preview ?? null),
      previewError: shown.previewError ?? null,
    });
  }

  /** The preview alone for htmx (into #preview), the whole page for a plain form post. */
  async function answerPreview(req: Request, res: Response, shown: Shown) {
    if (isHtmx(req)) {
      res.status(shown.status ?? 200).render('campaigns/_preview', {
        preview: previewView(shown.preview ?? null),
        previewError: shown.previewError ?? null,
      });
      return;
    }
    await renderForm(req, res, shown);
  }

  router.get('/campaigns/new', requireRole(...EDITORS), async (req, res) => {
    await renderForm(req, res);
  });

  // The channel chosen (SMS, or a WhatsApp handoff): the form again with that channel's steps, what was typed kept.
  router.post('/campaigns/new/channel', requireRole(...EDITORS), async (req, res) => {
    await renderForm(req, res);
  });

  router.post('/campaigns/new/count', requireRole(...EDITORS), (req, res) => {
    res.render('campaigns/_counter', { counter: messageLength(field(req, 'text'), field(req, 'optOut')) });
  });

  router.post(PREVIEW_PATH, requireRole(...EDITORS), async (req, res) => {
    const refused = (status: number, previewError: string) => answerPreview(req, res, { status, previewError });
    const uploadError = uploadErrors.get(req);
    if (uploadError instanceof multer.MulterError) {
      // 422 like every refusal of the form: htmx swaps it into the preview, where the user is looking.
      await refused(
        422,
        uploadError.code === 'LIMIT_FILE_SIZE'
          ? 'The file is larger than 5 MB. Split it, or remove columns the message does not use.'
          : 'The upload was refused: send one CSV file with the form.',
      );
      return;
    }
    if (uploadError) throw uploadError;
    const text = field(req, 'text');
    const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
    const typed = field(req, 'numbers');
    // A text file with a NUL in a row is named by its line; an image or a workbook is refused for what it is.
    const textFile = req.file && !binaryKindOf(req.file.buffer) ? req.file : null;
    const unsafe = findUnsafeText(req.body) ?? (textFile ? findUnsafeTextInFile(textFile.buffer, 'file') : null);
    if (unsafe) return refused(400, describeUnsafeText(unsafe));
    const file = req.file && req.file.size > 0 ? req.file : null;
    const handoffId = field(req, 'handoffId');
    let route: WizardRoute | null = null;
    try {
      route = handoffId ? await wizardRoute(app, req.user!.accountId, handoffId) : null;
    } catch (error) {
      if (error instanceof DomainError) return refused(422, error.message);
      throw error;
    }
    if (!route && !text.trim()) return refused(422, 'Write the message (step 3) before parsing recipients.');
    // A chosen file that is empty is a file with no recipients, not "no file".
    if (!req.file?.originalname && !typed.trim()) {
      return refused(422, 'Choose a CSV file or type numbers, one per line, with their country code.');
    }
    const account = await loadAccount(app, req.user!.accountId);
    let result: RecipientsPreview;
    try {
      result = await previewRecipients(
        req.file?.originalname ? { csv: file?.buffer ?? Buffer.alloc(0) } : { typed },
        route ? whatsappRowMessage(route) : { text, optOut },
        { defaultCountry: account.settings.defaultCountry },
      );
    } catch (error) {
      if (error instanceof CsvFileError) return refused(422, error.message);
      throw error;
    }
    result = await flagCachedLandlines(
      { db: app.db, personalData: app.channels.personalData },
      { accountId: req.user!.accountId, settings: account.settings.lineTypeCheck, preview: result },
    );
    const { valid, ...shown } = result;
    const stored: StoredPreview = {
      ...shown,
      accepted: valid.length,
      fileName: req.file?.originalname || null,
      whatsapp: route ? checkedAgainst(route, valid[0]) : null,
    };
    const uploadId = valid.length > 0 ? randomUUID() : null;
    if (uploadId) {
      await app.db('campaign_uploads').insert({
        upload_id: uploadId,
        account_id: req.user!.accountId,
        user_id: req.user!.userId,
        text: route ? route.template.content.body : text,
        opt_out: route ? '' : optOut,
        recipients: JSON.stringify(valid),
        preview: JSON.stringify(stored),
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
    await answerPreview(req, res, { preview: { ...stored, uploadId }, status: result.refused ? 422 : 200 });
  });

  /** The list parsed for this form, if it is still there (per account and user). */
  async function parsedList(req: Request) {
    const uploadId = field(req, 'uploadId');
    if (!UPLOAD_ID.test(uploadId)) return null;
    const row = await app
      .db('campaign_uploads')
      .where({ upload_id: uploadId, account_id: req.user!.accountId, user_id: req.user!.userId })
      .first<
        | {
            text: string;
            opt_out: string;
            recipients: { phone: string; variables: Record<string, string> }[];
            preview: StoredPreview | null;
          }
        | undefined
      >();
    return row ? { uploadId, ...row } : null;
  }

  router.post('/campaigns', requireRole(...EDITORS), async (req, res) => {
    const accountId = req.user!.accountId;
    const parsed = await parsedList(req);
    try {
      if (!parsed) {
        throw new DomainError(
          'NO_RECIPIENTS',
          'Parse the recipients (step 4) and check the preview before publishing.',
          'recipients',
        );
      }
      const text = field(req, 'text');
      const optOut = field(req, 'optOut') || DEFAULT_OPT_OUT_TEXT;
      const handoffId = field(req, 'handoffId');
      const checked = parsed.preview?.whatsapp ?? null;
      const route = handoffId ? await wizardRoute(app, accountId, handoffId) : null;
      const outdated = route
        ? !sameRoute(route, checked)
        : checked !== null || text !== parsed.text || optOut !== parsed.opt_out;
      if (outdated) {
        throw new DomainError(
          'PREVIEW_OUTDATED',
          'The message changed since the preview: parse the recipients again so the preview shows what will be sent.',
          route ? 'handoffId' : 'text',
        );
      }
      const sendAt = sendAtOf(req);
      const common = {
        accountId,
        name: field(req, 'name'),
        consent: field(req, 'consent') === 'on',
        consentStatement: field(req, 'consentStatement'),
        sendAt,
      };
      const created = route
        ? await publishWhatsApp(app, route, { ...common, actor: req.user!.userId, recipients: parsed.recipients })
        : await requestSmsCampaign(
            { ...app, personalData: app.channels.personalData },
            {
              ...common,
              senderId: field(req, 'senderId'),
              text,
              optOutText: optOut,
              source: 'web',
              recipients: parsed.recipients,
              publish: true,
            },
            { actor: req.user!.userId },
          );
      await app.db('campaign_uploads').where({ upload_id: parsed.uploadId, account_id: accountId }).delete();
      const page = withPosition(`/campaigns/${created.campaignId}`, created.position);
      if (isHtmx(req)) res.set('HX-Redirect', page).status(200).end();
      else res.redirect(303, page);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Refused: the same form again, with what was typed and the list already parsed (its preview too).
      await renderForm(req, res, {
        error,
        status: 422,
        preview: parsed?.preview ? { ...parsed.preview, uploadId: parsed.uploadId } : null,
      });
    }
  });

  return router;
}
