import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { whatsappChannelOf } from '../../app/handoff-whatsapp.ts';
import { archiveHandoff, createHandoff, loadHandoff, updateHandoff } from '../../app/handoffs.ts';
import { DomainError } from '../../domain/decider.ts';
import { type HandoffConfig, isWhatsAppChannel } from '../../domain/handoff.ts';
import { DEFAULT_OPT_OUT_TEXT, SMS_MAX_LENGTH } from '../../domain/sms.ts';
import { DEFAULT_FALLBACK_TIMEOUT_SECONDS } from '../../domain/whatsapp.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;

/** The handoff's channels: SMS, WhatsApp, or the prioritized channel (WhatsApp first, then SMS). */
const CHANNELS = ['sms', 'wa', 'prioritized'] as const;
type FormChannel = (typeof CHANNELS)[number];
/** A handoff channel's type as the list shows it (`wa` is LivePerson's name; `whatsapp` its alias). */
const HANDOFF_CHANNEL_LABEL: Record<string, string> = {
  'sms-twilio': 'SMS',
  wa: 'WhatsApp',
  whatsapp: 'WhatsApp',
  inapp: 'In-App',
};

interface HandoffForm {
  name: string;
  skill: string;
  lookbackPeriodDay: string;
  lookbackPeriodHour: string;
  routeAllWithinLookback: boolean;
  channel: FormChannel;
  outboundnumber: string;
  content: string;
  optOut: string;
  waOutboundnumber: string;
  templateId: string;
  fallbackTimeoutSeconds: string;
}

const emptyForm = (): HandoffForm => ({
  name: '',
  skill: '',
  lookbackPeriodDay: '30',
  lookbackPeriodHour: '0',
  routeAllWithinLookback: false,
  channel: 'sms',
  outboundnumber: '',
  content: '',
  optOut: DEFAULT_OPT_OUT_TEXT,
  waOutboundnumber: '',
  templateId: '',
  fallbackTimeoutSeconds: String(DEFAULT_FALLBACK_TIMEOUT_SECONDS),
});

function formFrom(body: Record<string, unknown>): HandoffForm {
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
  const channel = CHANNELS.find((candidate) => candidate === text('channel')) ?? 'sms';
  return {
    name: text('name'),
    skill: text('skill'),
    lookbackPeriodDay: text('lookbackPeriodDay'),
    lookbackPeriodHour: text('lookbackPeriodHour'),
    routeAllWithinLookback: body.routeAllWithinLookback === 'on',
    channel,
    outboundnumber: text('outboundnumber'),
    content: text('content'),
    optOut: text('optOut'),
    waOutboundnumber: text('waOutboundnumber'),
    templateId: text('templateId'),
    fallbackTimeoutSeconds: text('fallbackTimeoutSeconds'),
  };
}

function formOf(config: HandoffConfig): HandoffForm {
  const sms = config.channels.find((channel) => channel.type === 'sms-twilio');
  const body = sms?.messageComponents.find((component) => component.type === 'body');
  const route = whatsappChannelOf(config);
  return {
    name: config.name,
    skill: config.skill ?? '',
    lookbackPeriodDay: String(config.lookbackPeriodDay),
    lookbackPeriodHour: String(config.lookbackPeriodHour),
    routeAllWithinLookback: config.routeAllWithinLookback,
    channel: route ? (route.sms ? 'prioritized' : 'wa') : 'sms',
    outboundnumber: sms?.outboundnumber ?? '',
    content: body?.content ?? '',
    optOut: body?.optOut ?? DEFAULT_OPT_OUT_TEXT,
    waOutboundnumber: route?.whatsapp.outboundnumber ?? '',
    templateId: route?.whatsapp.templateId ?? '',
    fallbackTimeoutSeconds: String(route?.whatsapp.fallbackTimeoutSeconds ?? DEFAULT_FALLBACK_TIMEOUT_SECONDS),
  };
}

const number = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : text);

/**
 * The form as the API's LivePerson-shaped body, so that the same validation answers both. The form edits the SMS
 * and WhatsApp channels (WhatsApp first on the prioritized channel); an In-App channel set over the API is kept.
 */
function configFrom(form: HandoffForm, existing?: HandoffConfig): Record<string, unknown> {
  const previous = (wanted: (type: string) => boolean) => existing?.channels.find((channel) => wanted(channel.type));
  const sms = {
    ...previous((type) => type === 'sms-twilio'),
    type: 'sms-twilio',
    outboundnumber: form.outboundnumber,
    messageComponents: [{ type: 'body', content: form.content, optOut: form.optOut || DEFAULT_OPT_OUT_TEXT }],
  };
  // The receipt timeout belongs to the prioritized channel only.
  const { fallbackTimeoutSeconds: _timeout, ...before } = previous(isWhatsAppChannel) ?? {
    type: 'wa',
    messageComponents: [],
  };
  const wa = {
    ...before,
    outboundnumber: form.waOutboundnumber,
    templateId: form.templateId,
    ...(form.channel === 'prioritized' ? { fallbackTimeoutSeconds: number(form.fallbackTimeoutSeconds) } : {}),
  };
  const channels = { sms: [sms], wa: [wa], prioritized: [wa, sms] }[form.channel];
  return {
    name: form.name,
    skill: form.skill || null,
    lookbackPeriodDay: number(form.lookbackPeriodDay),
    lookbackPeriodHour: number(form.lookbackPeriodHour),
    routeAllWithinLookback: form.routeAllWithinLookback,
    channels: [...channels, ...(existing?.channels.filter((channel) => channel.type === 'inapp') ?? [])],
  };
}

/** Field paths of the API (channels.0.messageComponents.0.content) as the form's field names. */
function formField(field: string | undefined, form: HandoffForm): string | undefined {
  if (!field) return undefined;
  const last = field.split('.').pop()!;
  if (last === 'body') return undefined;
  // The WhatsApp channel is the first one whenever the form has one.
  const whatsapp = form.channel !== 'sms' && field.startsWith('channels.0.');
  return whatsapp && last === 'outboundnumber' ? 'waOutboundnumber' : last;
}

/** The schema's words for a bad number, said for a person. */
const SENTENCES: Record<string, string> = {
  fallbackTimeoutSeconds:
    'The fallback timeout is a whole number of seconds from 1 to 604800 (a week); 600 waits ten minutes.',
};

function errorView(error: DomainError, form: HandoffForm) {
  const field = formField(error.field, form);
  const sentence = error.code === 'INVALID_FIELD' && field ? SENTENCES[field] : undefined;
  return { code: error.code, message: sentence ?? error.message, field };
}

/** `/handoffs/new?channel=wa` opens the form on that channel. */
const channelOf = (value: unknown): Partial<HandoffForm> => {
  const channel = CHANNELS.find((candidate) => candidate === value);
  return channel ? { channel } : {};
};

/** F17 in the web tool: API handoffs listed for everyone, created, edited and archived by Admins and Campaign Managers. */
export function handoffWebRoutes(app: AppContext): Router {
  const router = Router();

  const options = async (accountId: string) => ({
    skills: await app.db('skills').where({ account_id: accountId }).orderBy('name').select('skill_id', 'name'),
    senders: await sendersOf(accountId, 'sms'),
    whatsappSenders: await sendersOf(accountId, 'whatsapp'),
    // Drafts cannot be chosen; the others are listed with their status, so a refusal can say why.
    templates: await app
      .db('templates')
      .where({ account_id: accountId })
      .whereNull('deleted_at')
      .whereNot({ status: 'draft' })
      .orderBy('name')
      .select('template_id', 'name', 'kind', 'status', 'rejection_reason'),
    smsMax: SMS_MAX_LENGTH,
  });
  const sendersOf = (accountId: string, channel: 'sms' | 'whatsapp') =>
    app.db('senders').where({ account_id: accountId, channel }).orderBy('address').select('address', 'label');

  const renderForm = async (
    req: Request,
    res: Response,
    view: { handoffId: string | null; form: HandoffForm; error?: DomainError },
  ) => {
    res.status(view.error ? httpStatus(view.error) : 200).render('handoffs/form', {
      title: view.handoffId ? `Edit ${view.form.name}` : 'New handoff',
      handoffId: view.handoffId,
      form: view.form,
      error: view.error ? errorView(view.error, view.form) : null,
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
      channelLabel: (type: string) => HANDOFF_CHANNEL_LABEL[type] ?? type,
      canEdit: (EDITORS as readonly string[]).includes(req.user!.role),
    });
  });

  router.get('/handoffs/new', requireRole(...EDITORS), async (req, res) => {
    await renderForm(req, res, { handoffId: null, form: { ...emptyForm(), ...channelOf(req.query.channel) } });
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
