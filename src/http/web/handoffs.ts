import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { archiveHandoff, createHandoff, loadHandoff, updateHandoff } from '../../app/handoffs.ts';
import { DomainError } from '../../domain/decider.ts';
import type { HandoffConfig } from '../../domain/handoff.ts';
import { DEFAULT_OPT_OUT_TEXT, SMS_MAX_LENGTH } from '../../domain/sms.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;

interface HandoffForm {
  name: string;
  skill: string;
  lookbackPeriodDay: string;
  lookbackPeriodHour: string;
  routeAllWithinLookback: boolean;
  outboundnumber: string;
  content: string;
  optOut: string;
}

const emptyForm = (): HandoffForm => ({
  name: '',
  skill: '',
  lookbackPeriodDay: '30',
  lookbackPeriodHour: '0',
  routeAllWithinLookback: false,
  outboundnumber: '',
  content: '',
  optOut: DEFAULT_OPT_OUT_TEXT,
});

function formFrom(body: Record<string, unknown>): HandoffForm {
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
  return {
    name: text('name'),
    skill: text('skill'),
    lookbackPeriodDay: text('lookbackPeriodDay'),
    lookbackPeriodHour: text('lookbackPeriodHour'),
    routeAllWithinLookback: body.routeAllWithinLookback === 'on',
    outboundnumber: text('outboundnumber'),
    content: text('content'),
    optOut: text('optOut'),
  };
}

function formOf(config: HandoffConfig): HandoffForm {
  const sms = config.channels.find((channel) => channel.type === 'sms-twilio');
  const body = sms?.messageComponents.find((component) => component.type === 'body');
  return {
    name: config.name,
    skill: config.skill ?? '',
    lookbackPeriodDay: String(config.lookbackPeriodDay),
    lookbackPeriodHour: String(config.lookbackPeriodHour),
    routeAllWithinLookback: config.routeAllWithinLookback,
    outboundnumber: sms?.outboundnumber ?? '',
    content: body?.content ?? '',
    optOut: body?.optOut ?? DEFAULT_OPT_OUT_TEXT,
  };
}

/**
 * The form as the API's LivePerson-shaped body, so that the same validation answers both. The form edits the SMS
 * channel; other channels set over the API are kept as they are.
 */
function configFrom(form: HandoffForm, existing?: HandoffConfig): Record<string, unknown> {
  const number = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : text);
  return {
    name: form.name,
    skill: form.skill || null,
    lookbackPeriodDay: number(form.lookbackPeriodDay),
    lookbackPeriodHour: number(form.lookbackPeriodHour),
    routeAllWithinLookback: form.routeAllWithinLookback,
    channels: [
      {
        ...existing?.channels.find((channel) => channel.type === 'sms-twilio'),
        type: 'sms-twilio',
        outboundnumber: form.outboundnumber,
        messageComponents: [{ type: 'body', content: form.content, optOut: form.optOut || DEFAULT_OPT_OUT_TEXT }],
      },
      ...(existing?.channels.filter((channel) => channel.type !== 'sms-twilio') ?? []),
    ],
  };
}

/** Field paths of the API (channels.0.messageComponents.0.content) as the form's field names. */
function formField(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const last = field.split('.').pop()!;
  return last === 'body' ? undefined : last;
}

/** F17 in the web tool: API handoffs listed for everyone, created, edited and archived by Admins and Campaign Managers. */
export function handoffWebRoutes(app: AppContext): Router {
  const router = Router();

  const options = async (accountId: string) => ({
    skills: await app.db('skills').where({ account_id: accountId }).orderBy('name').select('skill_id', 'name'),
    senders: await app
      .db('senders')
      .where({ account_id: accountId, channel: 'sms' })
      .orderBy('address')
      .select('address', 'label'),
    smsMax: SMS_MAX_LENGTH,
  });

  const renderForm = async (
    req: Request,
    res: Response,
    view: { handoffId: string | null; form: HandoffForm; error?: DomainError },
  ) => {
    res.status(view.error ? httpStatus(view.error) : 200).render('handoffs/form', {
      title: view.handoffId ? `Edit ${view.form.name}` : 'New handoff',
      handoffId: view.handoffId,
      form: view.form,
      error: view.error ? { message: view.error.message, field: formField(view.error.field) } : null,
      ...(await options(req.user!.accountId)),
    });
  };

  router.get('/handoffs', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['handoffs']);
    const handoffs = await app
      .db('handoffs')
      .where({ account_id: req.user!.accountId })
      .whereNull('archived_at')
      .orderBy('name')
      .select('handoff_id', 'name', 'config', 'updated_at');
    res.render('handoffs/index', {
      title: 'API handoffs',
      handoffs,
      canEdit: (EDITORS as readonly string[]).includes(req.user!.role),
    });
  });

  router.get('/handoffs/new', requireRole(...EDITORS), async (req, res) => {
    await renderForm(req, res, { handoffId: null, form: emptyForm() });
  });

  router.post('/handoffs', requireRole(...EDITORS), async (req, res) => {
    const form = formFrom(req.body ?? {});
    try {
      const result = await createHandoff(app, req.user!.accountId, configFrom(form), {
        actor: req.user!.userId,
      });
      res.redirect(303, withPosition('/handoffs', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await renderForm(req, res, { handoffId: null, form, error });
    }
  });

  router.get('/handoffs/:id/edit', requireRole(...EDITORS), async (req, res) => {
    const config = await loadHandoff(app, req.user!.accountId, String(req.params.id));
    if (!config) throw new DomainError('HANDOFF_NOT_FOUND', 'There is no such handoff in this account.');
    await renderForm(req, res, { handoffId: String(req.params.id), form: formOf(config) });
  });

  router.post('/handoffs/:id', requireRole(...EDITORS), async (req, res) => {
    const handoffId = String(req.params.id);
    const existing = await loadHandoff(app, req.user!.accountId, handoffId);
    if (!existing) throw new DomainError('HANDOFF_NOT_FOUND', 'There is no such handoff in this account.');
    const form = formFrom(req.body ?? {});
    try {
      const result = await updateHandoff(app, req.user!.accountId, handoffId, configFrom(form, existing), {
        actor: req.user!.userId,
      });
      res.redirect(303, withPosition('/handoffs', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await renderForm(req, res, { handoffId, form, error });
    }
  });

  router.post('/handoffs/:id/archive', requireRole(...EDITORS), async (req, res) => {
    const handoffId = String(req.params.id);
    if (!(await loadHandoff(app, req.user!.accountId, handoffId))) {
      throw new DomainError('HANDOFF_NOT_FOUND', 'There is no such handoff in this account.');
    }
    const result = await archiveHandoff(app, req.user!.accountId, handoffId, { actor: req.user!.userId });
    res.redirect(303, withPosition('/handoffs', result.position));
  });

  return router;
}
