import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { Db } from '../../infra/db.ts';
import { newContentSid, type SandboxFaults } from './store.ts';

/**
 * The sandbox's Twilio Content API (`/v1/Content`, its WhatsApp ApprovalRequests) and what a WhatsApp send needs
 * of it: an approved template rendered with the send's variables. WhatsApp's decision on an approval request is
 * the `templateDecision` fault in force at the request, applied at the first poll after `templateDecisionDelayMs`.
 */

export interface SandboxContentRow {
  sid: string;
  account_sid: string;
  friendly_name: string;
  language: string;
  variables: Record<string, string>;
  types: Record<string, ContentType>;
  approval_name: string | null;
  approval_category: string | null;
  approval_requested_at: Date | null;
  planned_status: string | null;
  planned_reason: string | null;
  planned_delay_ms: number | null;
  approval_status: string | null;
  rejection_reason: string | null;
  date_created: Date;
  date_updated: Date;
}

interface ContentAction {
  type?: string;
  title: string;
  id?: string;
  url?: string;
  phone?: string;
}
interface ContentType {
  body?: string;
  footer?: string;
  media?: string[];
  actions?: ContentAction[];
}

/** A template as the consumer sees it: header media, body, footer and buttons, with the variables filled. */
export interface RenderedContent {
  media: string | null;
  body: string;
  footer: string | null;
  buttons: { kind: 'reply' | 'url' | 'phone'; title: string; target: string | null }[];
}

const fill = (text: string, values: Record<string, string>) =>
  text.replace(/\{\{([^{}]*)\}\}/g, (whole, name: string) => values[name] ?? whole);

export function renderContent(row: Pick<SandboxContentRow, 'types'>, values: Record<string, string>): RenderedContent {
  const type = Object.values(row.types)[0] ?? {};
  return {
    media: type.media?.[0] ? fill(type.media[0], values) : null,
    body: fill(type.body ?? '', values),
    footer: type.footer ?? null,
    buttons: (type.actions ?? []).map((action) => {
      if (action.url) return { kind: 'url', title: action.title, target: fill(action.url, values) };
      if (action.phone) return { kind: 'phone', title: action.title, target: action.phone };
      return { kind: 'reply', title: action.title, target: action.id ?? null };
    }),
  };
}

/** The text the sandbox stores as a WhatsApp template message's body (what the Messages list answers). */
export function renderedText(rendered: RenderedContent): string {
  return [rendered.media, rendered.body, rendered.footer].filter(Boolean).join('\n');
}

export type WhatsAppSendCheck =
  | { ok: true; body: string; contentSid: string | null; contentVariables: string | null }
  | { ok: false; status: number; code: number; message: string };

const refuse = (code: number, message: string): WhatsAppSendCheck => ({ ok: false, status: 400, code, message });
const DAY_MS = 86_400_000;

/** A WhatsApp send as Twilio checks it: a WhatsApp address, an approved template or a reply within 24 hours. */
export async function checkWhatsAppSend(
  db: Db,
  faults: SandboxFaults,
  accountSid: string,
  body: Record<string, unknown>,
): Promise<WhatsAppSendCheck> {
  const to = typeof body.To === 'string' ? body.To : '';
  const from = body.From as string;
  if (!/^whatsapp:\+[1-9]\d{6,14}$/.test(to)) {
    return refuse(21211, `The 'To' address ${to} is not a valid WhatsApp address (whatsapp:+E164).`);
  }
  if (faults.whatsappUnreachable.includes(to.slice('whatsapp:'.length))) {
    return refuse(63003, `Channel could not find To address ${to}: the number is not on WhatsApp.`);
  }
  if (typeof body.ContentSid === 'string' && body.ContentSid !== '') {
    const content = await db('sandbox_contents')
      .where({ sid: body.ContentSid, account_sid: accountSid })
      .first<SandboxContentRow | undefined>();
    if (!content) return refuse(21655, `The Content ${body.ContentSid} does not exist.`);
    if (content.approval_status !== 'approved') {
      return refuse(
        63027,
        `The template ${body.ContentSid} is not approved for WhatsApp (${content.approval_status}).`,
      );
    }
    let values: Record<string, string> = {};
    if (typeof body.ContentVariables === 'string' && body.ContentVariables !== '') {
      const parsed = z.record(z.string(), z.string()).safeParse(safeJson(body.ContentVariables));
      if (!parsed.success) return refuse(21656, 'The ContentVariables parameter is invalid.');
      values = parsed.data;
    }
    return {
      ok: true,
      body: renderedText(renderContent(content, values)),
      contentSid: content.sid,
      contentVariables: JSON.stringify(values),
    };
  }
  if (typeof body.Body !== 'string' || body.Body === '') return refuse(21602, 'Message body is required.');
  const lastInbound = await db('sandbox_messages')
    .where({ from: to, to: from, direction: 'inbound' })
    .max<{ at: Date | null }>('date_created as at')
    .first();
  if (!lastInbound?.at || Date.now() - new Date(lastInbound.at).getTime() > DAY_MS) {
    return refuse(63016, 'Failed to send freeform message because you are outside the allowed window.');
  }
  return { ok: true, body: body.Body, contentSid: null, contentVariables: null };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const twilioError = (res: Response, status: number, code: number, message: string) =>
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

const createSchema = z.object({
  friendly_name: z.string().min(1).max(512),
  language: z.string().min(1).max(16),
  variables: z.record(z.string(), z.string()).default({}),
  types: z.record(z.string(), z.record(z.string(), z.unknown())).refine((types) => Object.keys(types).length > 0),
});
const approvalSchema = z.object({ name: z.string().min(1).max(512), category: z.string().min(1).max(64) });

/** Twilio's answer for one Content resource. */
function contentJson(row: SandboxContentRow, base: string) {
  return {
    sid: row.sid,
    account_sid: row.account_sid,
    friendly_name: row.friendly_name,
    language: row.language,
    variables: row.variables,
    types: row.types,
    url: `${base}/Content/${row.sid}`,
    date_created: row.date_created.toISOString(),
    date_updated: row.date_updated.toISOString(),
    links: {
      approval_create: `${base}/Content/${row.sid}/ApprovalRequests/whatsapp`,
      approval_fetch: `${base}/Content/${row.sid}/ApprovalRequests`,
    },
  };
}

function approvalJson(row: SandboxContentRow) {
  return {
    type: 'whatsapp',
    name: row.approval_name ?? '',
    category: row.approval_category ?? '',
    content_type: Object.keys(row.types)[0] ?? 'twilio/text',
    status: row.approval_status ?? 'unsubmitted',
    rejection_reason: row.rejection_reason ?? '',
    allow_category_change: false,
  };
}

/** `/v1/Content…` under the sandbox's Twilio base (behind Basic auth). */
export function contentRouter(deps: {
  db: Db;
  faults: () => SandboxFaults;
  accountSid: () => Promise<string>;
}): Router {
  const router = Router();
  const base = 'https://content.twilio.com/v1';
  const find = async (req: Request) =>
    deps
      .db('sandbox_contents')
      .where({ sid: String(req.params.sid), account_sid: await deps.accountSid() })
      .first<SandboxContentRow | undefined>();
  const notFound = (res: Response, req: Request) =>
    twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);

  router.post('/Content', async (req, res) => {
    const parsed = createSchema.safeParse(req.body ?? {});
    if (!parsed.success)
      return void twilioError(res, 400, 20001, `Invalid Content: ${parsed.error.issues[0]!.message}`);
    const now = new Date();
    const [row] = await deps
      .db('sandbox_contents')
      .insert({
        sid: newContentSid(),
        account_sid: await deps.accountSid(),
        friendly_name: parsed.data.friendly_name,
        language: parsed.data.language,
        variables: JSON.stringify(parsed.data.variables),
        types: JSON.stringify(parsed.data.types),
        date_created: now,
        date_updated: now,
      })
      .returning<SandboxContentRow[]>('*');
    res.status(201).json(contentJson(row!, base));
  });
  router.get('/Content/:sid', async (req, res) => {
    const row = await find(req);
    if (!row) return void notFound(res, req);
    res.json(contentJson(row, base));
  });
  router.delete('/Content/:sid', async (req, res) => {
    const deleted = await deps
      .db('sandbox_contents')
      .where({ sid: String(req.params.sid) })
      .delete();
    if (deleted === 0) return void notFound(res, req);
    res.status(204).end();
  });
  router.post('/Content/:sid/ApprovalRequests/whatsapp', async (req, res) => {
    const parsed = approvalSchema.safeParse(req.body ?? {});
    if (!parsed.success) return void twilioError(res, 400, 20001, 'An approval request needs a name and a category.');
    const row = await find(req);
    if (!row) return void notFound(res, req);
    const faults = deps.faults();
    const [updated] = await deps
      .db('sandbox_contents')
      .where({ sid: row.sid })
      .update({
        approval_name: parsed.data.name,
        approval_category: parsed.data.category,
        approval_requested_at: new Date(),
        planned_status: faults.templateDecision,
        planned_reason: faults.templateDecision === 'approved' ? null : faults.templateRejectionReason,
        planned_delay_ms: faults.templateDecisionDelayMs,
        approval_status: 'received',
        rejection_reason: null,
        date_updated: new Date(),
      })
      .returning<SandboxContentRow[]>('*');
    res.status(201).json(approvalJson(updated!));
  });
  router.get('/Content/:sid/ApprovalRequests', async (req, res) => {
    let row = await find(req);
    if (!row) return void notFound(res, req);
    const due =
      row.approval_requested_at &&
      (row.approval_status === 'received' || row.approval_status === 'pending') &&
      Date.now() >= row.approval_requested_at.getTime() + (row.planned_delay_ms ?? 0);
    if (due) {
      [row] = await deps
        .db('sandbox_contents')
        .where({ sid: row.sid })
        .update({ approval_status: row.planned_status, rejection_reason: row.planned_reason, date_updated: new Date() })
        .returning<SandboxContentRow[]>('*');
    } else if (row.approval_status === 'received') {
      [row] = await deps
        .db('sandbox_contents')
        .where({ sid: row.sid })
        .update({ approval_status: 'pending' })
        .returning<SandboxContentRow[]>('*');
    }
    res.json({
      sid: row!.sid,
      account_sid: row!.account_sid,
      whatsapp: approvalJson(row!),
      url: `${base}/Content/${row!.sid}/ApprovalRequests`,
    });
  });
  return router;
}

export const approvalOverrideSchema = z.object({
  status: z.enum(['approved', 'rejected', 'paused', 'disabled']),
  rejectionReason: z.string().min(1).max(500).optional(),
});

/** `POST /sandbox/templates/:contentSid/approval`: WhatsApp changes its mind later (pauses a template for quality). */
export async function overrideApproval(db: Db, contentSid: string, input: z.infer<typeof approvalOverrideSchema>) {
  return db('sandbox_contents')
    .where({ sid: contentSid })
    .update({
      approval_status: input.status,
      rejection_reason: input.status === 'approved' ? null : (input.rejectionReason ?? `Sandbox: ${input.status}`),
      date_updated: new Date(),
    });
}
