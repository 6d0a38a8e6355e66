import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import {
  deleteTemplate,
  draftTemplate,
  duplicateTemplate,
  parseTemplateContent,
  submitTemplate,
} from '../../app/templates.ts';
import { DomainError } from '../../domain/decider.ts';
import { APPROVAL_STATUSES } from '../../domain/template.ts';
import {
  checkTemplateContent,
  contentVariableLayout,
  fillVariables,
  TEMPLATE_CATEGORIES,
  type TemplateContent,
} from '../../domain/template-content.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;
const MAX_SAMPLES = 10;

type TemplateForm = Record<string, string>;

const text = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === 'string' ? (body[name] as string) : '';

/** The builder's flat form as a template's content (the same validation as everywhere answers it). */
export function contentFromForm(body: Record<string, unknown>): TemplateContent {
  const field = (name: string) => text(body, name);
  const samples: Record<string, string> = {};
  for (let number = 1; number <= MAX_SAMPLES; number++) {
    if (field(`sample${number}`)) samples[String(number)] = field(`sample${number}`);
  }
  if (field('sampleButton')) samples.button = field('sampleButton');
  const buttonsType = field('buttonsType');
  const buttons: TemplateContent['buttons'] =
    buttonsType === 'quick-reply'
      ? { type: 'quick-reply', replies: ['reply1', 'reply2', 'reply3'].map(field).filter(Boolean) }
      : buttonsType === 'call-to-action'
        ? {
            type: 'call-to-action',
            url: field('url') ? { title: field('urlTitle'), url: field('url') } : null,
            phone: field('phone') ? { title: field('phoneTitle'), phone: field('phone') } : null,
          }
        : { type: 'none' };
  const headerType = field('headerType');
  return parseTemplateContent({
    name: field('name'),
    language: field('language'),
    category: field('category'),
    header:
      headerType === 'image' || headerType === 'document' || headerType === 'video'
        ? { type: headerType, sampleUrl: field('headerUrl') }
        : null,
    body: field('body'),
    footer: field('footer') || null,
    buttons,
    samples,
  });
}

/** The message as the consumer will see it: header media, the body with the sample values, footer, buttons. */
export function previewOf(content: TemplateContent) {
  const layout = contentVariableLayout(content);
  const buttons =
    content.buttons.type === 'quick-reply'
      ? content.buttons.replies.map((title) => ({ kind: 'reply', title }))
      : content.buttons.type === 'call-to-action'
        ? [
            ...(content.buttons.url ? [{ kind: 'url', title: content.buttons.url.title }] : []),
            ...(content.buttons.phone ? [{ kind: 'phone', title: content.buttons.phone.title }] : []),
          ]
        : [];
  return {
    header: content.header,
    body: fillVariables(content.body, content.samples),
    footer: content.footer,
    buttons,
    variables: layout.body,
  };
}

function fieldOf(error: DomainError): string | undefined {
  const field = error.field ?? '';
  if (field.startsWith('samples.')) return field === 'samples.button' ? 'sampleButton' : `sample${field.slice(8)}`;
  if (field.startsWith('buttons.replies.')) return `reply${Number(field.split('.')[2]) + 1}`;
  const known: Record<string, string> = {
    'header.sampleUrl': 'headerUrl',
    'buttons.url.url': 'url',
    'buttons.url.title': 'urlTitle',
    'buttons.phone.phone': 'phone',
    'buttons.phone.title': 'phoneTitle',
    'buttons.replies': 'reply1',
  };
  return known[field] ?? field;
}

/** F5 in the web tool: the template list with status filters, and the builder with its live preview. */
export function templateWebRoutes(app: AppContext): Router {
  const router = Router();
  const canEdit = (req: Request) => (EDITORS as readonly string[]).includes(req.user!.role);

  const renderBuilder = (res: Response, form: TemplateForm, error?: DomainError) => {
    let preview = null;
    try {
      const content = contentFromForm(form);
      preview = previewOf(content);
    } catch {
      preview = null;
    }
    res.status(error ? httpStatus(error) : 200).render('templates/form', {
      title: 'New WhatsApp template',
      form,
      categories: TEMPLATE_CATEGORIES,
      samples: MAX_SAMPLES,
      preview,
      error: error ? { message: error.message, field: fieldOf(error) } : null,
    });
  };

  router.get('/templates', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['templates']);
    const status = typeof req.query.status === 'string' ? req.query.status : '';
    const rows = app.db('templates').where({ account_id: req.user!.accountId }).whereNull('deleted_at');
    if ((['draft', ...APPROVAL_STATUSES] as string[]).includes(status)) rows.andWhere({ status });
    res.render('templates/index', {
      title: 'WhatsApp templates',
      templates: await rows.orderBy('created_at', 'desc').limit(500).select('*'),
      statuses: ['draft', ...APPROVAL_STATUSES],
      status,
      canEdit: canEdit(req),
    });
  });

  router.get('/templates/new', requireRole(...EDITORS), (_req, res) => {
    renderBuilder(res, { language: 'en_US', category: 'MARKETING', buttonsType: 'none' });
  });

  // The live preview: the form as it is now, with any rule it breaks said inline.
  router.post('/templates/preview', requireRole(...EDITORS), (req, res) => {
    const form = (req.body ?? {}) as TemplateForm;
    let preview = null;
    let problem: string | null = null;
    try {
      const content = contentFromForm(form);
      preview = previewOf(content);
      checkTemplateContent(content);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      problem = error.message;
    }
    res.render('templates/_preview', { preview, problem });
  });

  router.post('/templates', requireRole(...EDITORS), async (req, res) => {
    const form = (req.body ?? {}) as TemplateForm;
    try {
      const result = await draftTemplate(app, req.user!.accountId, contentFromForm(form), { actor: req.user!.userId });
      res.redirect(303, withPosition('/templates', result.position));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      renderBuilder(res, form, error);
    }
  });

  const action = (
    path: string,
    run: (
      req: Request,
      templateId: string,
    ) => Promise<{ position: import('../../eventstore/port.ts').GlobalPosition | null }>,
  ) =>
    router.post(`/templates/:id/${path}`, requireRole(...EDITORS), async (req, res) => {
      const result = await run(req, String(req.params.id));
      res.redirect(303, withPosition('/templates', result.position));
    });
  action('submit', (req, templateId) =>
    submitTemplate({ ...app, templates: app.channels.whatsappTemplates }, req.user!.accountId, templateId, {
      actor: req.user!.userId,
    }),
  );
  action('duplicate', (req, templateId) =>
    duplicateTemplate(app, req.user!.accountId, templateId, text(req.body ?? {}, 'name'), { actor: req.user!.userId }),
  );
  action('delete', (req, templateId) =>
    deleteTemplate(app, req.user!.accountId, templateId, { actor: req.user!.userId }),
  );
  return router;
}
