import { timingSafeEqual } from 'node:crypto';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import { normalizePhone } from '../../domain/sms.ts';
import type { Db } from '../../infra/db.ts';
import type { Logger } from '../../infra/logger.ts';
import { SandboxCallbacks } from './callbacks.ts';
import {
  approvalOverrideSchema,
  checkWhatsAppSend,
  contentRouter,
  overrideApproval,
  type WhatsAppSendCheck,
} from './content.ts';
import { LookupHolds } from './holds.ts';
import { consumerReply } from './phone.ts';
import {
  defaultFaults,
  faultsSchema,
  newMessageSid,
  type SandboxCredentials,
  type SandboxFaults,
  type SandboxMessageRow,
  toTwilioJson,
} from './store.ts';

export interface SandboxDeps {
  db: Db;
  log: Logger;
  credentials: () => Promise<SandboxCredentials>;
  /** Where the app's webhooks live; defaults to the origin the sandbox was reached on. */
  publicUrl?: string;
}

const twilioError = (res: Response, status: number, code: number, message: string) =>
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

const invalid = (res: Response, error: z.ZodError) => {
  const issue = error.issues[0]!;
  const field = issue.path.join('.');
  res.status(400).json({ code: 'INVALID_FIELD', field, message: `${field}: ${issue.message}` });
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `storeAfterLookup` holds a create for a lookup that does not come. */
const HOLD_MAX_MS = 60_000;

/**
 * The Twilio REST subset the product uses (Messages create/list/fetch, redact and delete, Lookup v2), the consumer's phone
 * (`/sandbox/phone/reply`) and the fault controls. Mounted at `/sandbox`, before sessions and CSRF: the REST
 * paths use Twilio's Basic auth, as the real API does.
 */
export class TwilioSandbox {
  faults: SandboxFaults = defaultFaults();
  private readonly holds = new LookupHolds();
  private readonly callbacks: SandboxCallbacks;

  constructor(private readonly deps: SandboxDeps) {
    this.callbacks = new SandboxCallbacks(deps, () => this.faults);
  }

  router(): Router {
    const router = Router();
    const api = Router({ mergeParams: true });
    api.use((req, res, next) => void this.authenticate(req, res, next));
    api.post('/Messages.json', (req, res, next) => this.createMessage(req, res).catch(next));
    api.get('/Messages.json', (req, res, next) => this.listMessages(req, res).catch(next));
    api.get('/Messages/:sid.json', (req, res, next) => this.fetchMessage(req, res).catch(next));
    api.post('/Messages/:sid.json', (req, res, next) => this.updateMessage(req, res).catch(next));
    api.delete('/Messages/:sid.json', (req, res, next) => this.deleteMessage(req, res).catch(next));
    router.use('/twilio/2010-04-01/Accounts/:accountSid', api);
    router.get('/twilio/lookups/v2/PhoneNumbers/:number', (req, res, next) => {
      void this.authenticate(req, res, () => this.lookup(req, res).catch(next));
    });
    const auth: RequestHandler = (req, res, next) => void this.authenticate(req, res, next);
    const accountSid = async () => (await this.deps.credentials()).accountSid;
    router.use('/twilio/content/v1', auth, contentRouter({ db: this.deps.db, faults: () => this.faults, accountSid }));
    router.post('/templates/:contentSid/approval', async (req, res, next) => {
      const parsed = approvalOverrideSchema.safeParse(req.body ?? {});
      if (!parsed.success) return void invalid(res, parsed.error);
      const changed = await overrideApproval(this.deps.db, String(req.params.contentSid), parsed.data).catch(next);
      if (changed === 0) return void res.status(404).json({ code: 'NOT_FOUND', message: 'No such Content.' });
      res.json({ contentSid: req.params.contentSid, ...parsed.data });
    });
    const phone = {
      ...this.deps,
      postSigned: (url: string, params: Record<string, string>) => this.postSigned(url, params),
    };
    router.post('/phone/reply', (req, res, next) => consumerReply(phone, req, res).catch(next));
    router.get('/faults', (_req, res) => res.json(this.faults));
    router.post('/faults', (req, res) => {
      const parsed = faultsSchema.safeParse(req.body ?? {});
      if (!parsed.success) return void invalid(res, parsed.error);
      this.faults = { ...this.faults, ...parsed.data };
      res.json(this.faults);
    });
    router.post('/reset', async (_req, res) => {
      this.faults = defaultFaults();
      await this.deps.db('sandbox_messages').delete();
      await this.deps.db('sandbox_opt_outs').delete();
      res.json({ reset: true });
    });
    return router;
  }

  stop(): void {
    this.callbacks.stop();
  }

  private async authenticate(req: Request, res: Response, next: () => void): Promise<void> {
    const credentials = await this.deps.credentials();
    const header = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const expected = Buffer.from(`${credentials.accountSid}:${credentials.authToken}`);
    const given = header ? Buffer.from(Buffer.from(header[1]!, 'base64').toString('utf8')) : Buffer.alloc(0);
    const pathSid = req.params.accountSid;
    if (
      given.length !== expected.length ||
      !timingSafeEqual(given, expected) ||
      (pathSid && pathSid !== credentials.accountSid)
    ) {
      res.set('WWW-Authenticate', 'Basic realm="Twilio sandbox"');
      twilioError(res, 401, 20003, 'Authenticate');
      return;
    }
    next();
  }

  private basePath(req: Request): string {
    return `/2010-04-01/Accounts/${req.params.accountSid}`;
  }

  private async createMessage(req: Request, res: Response): Promise<void> {
    // Created when the request arrives, as at Twilio: the added delay (and this process's own work) comes after, so
    // a lookup of the number from now on waits for it to be stored or refused (`storeAfterLookup` aside: that one
    // waits for a lookup).
    const receivedAt = new Date();
    const to = typeof req.body?.To === 'string' ? (req.body.To as string) : '';
    const held = this.faults.storeAfterLookup.includes(to.replace(/^whatsapp:/, ''));
    const settled = to && !held ? this.holds.arrived(to) : null;
    try {
      await this.create(req, res, receivedAt);
    } finally {
      settled?.();
    }
  }

  private async create(req: Request, res: Response, receivedAt: Date): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const faults = this.faults;
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
      return void (faults.errorStatus === 429
        ? twilioError(res, 429, 20429, 'Too Many Requests')
        : twilioError(res, 500, 20500, 'Internal Server Error'));
    }
    if (typeof body.To !== 'string' || body.To === '')
      return void twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (typeof body.From !== 'string' || body.From === '')
      return void twilioError(res, 400, 21603, "A 'From' phone number is required.");
    const whatsapp = body.From.startsWith('whatsapp:');
    const sent = whatsapp
      ? await checkWhatsAppSend(this.deps.db, faults, String(req.params.accountSid), body)
      : checkSmsSend(body);
    if (!sent.ok) return void twilioError(res, sent.status, sent.code, sent.message);
    const to = body.To;
    const number = to.replace(/^whatsapp:/, '');
    const failure = faults.failNumbers[number];
    if (failure) return void twilioError(res, 400, failure, `Sandbox fault ${failure} for ${to}`);
    if (!whatsapp && faults.landlines.includes(to))
      return void twilioError(res, 400, 21614, `'To' number ${to} is not a valid mobile number`);
    const slow = faults.slowNumbers[number];
    if (slow) await sleep(slow);
    const held = faults.storeAfterLookup.includes(number) ? await this.holds.untilLookedUp(to, HOLD_MAX_MS) : null;
    try {
      await this.storeMessage(req, res, { to, from: body.From, statusCallback: body.StatusCallback, sent, receivedAt });
    } finally {
      held?.();
    }
  }

  private async storeMessage(
    req: Request,
    res: Response,
    message: {
      to: string;
      from: string;
      statusCallback: unknown;
      sent: { body: string; contentSid?: string | null; contentVariables?: string | null };
      receivedAt: Date;
    },
  ): Promise<void> {
    const { to, sent, receivedAt } = message;
    const body = { From: message.from, StatusCallback: message.statusCallback };
    const faults = this.faults;
    const optedOut = await this.deps.db('sandbox_opt_outs').where({ phone: to, sender: body.From }).first();
    if (optedOut) return void twilioError(res, 400, 21610, 'Attempt to send to unsubscribed recipient');
    const now = receivedAt;
    const [row] = await this.deps
      .db('sandbox_messages')
      .insert({
        sid: newMessageSid(),
        account_sid: req.params.accountSid,
        from: body.From,
        to,
        body: sent.body,
        content_sid: sent.contentSid,
        content_variables: sent.contentVariables,
        status: 'queued',
        direction: 'outbound-api',
        status_callback: typeof body.StatusCallback === 'string' ? body.StatusCallback : null,
        date_created: now,
        date_updated: now,
      })
      .returning<SandboxMessageRow[]>('*');
    res.status(201).json(toTwilioJson(row!, this.basePath(req)));
    if (row!.status_callback && faults.callbackDelayMs >= 0) this.callbacks.progress(row!, faults.callbackDelayMs);
  }

  /** POSTs form params to a webhook with Twilio's signature, retrying a few times as Twilio does. */
  postSigned(url: string, params: Record<string, string>): Promise<number> {
    return this.callbacks.postSigned(url, params);
  }

  private async listMessages(req: Request, res: Response): Promise<void> {
    const query = req.query as Record<string, string | undefined>;
    const pageSize = Math.min(1000, Math.max(1, Number(query.PageSize ?? 50) || 50));
    const page = Math.max(0, Number(query.Page ?? 0) || 0);
    const rows = this.deps.db('sandbox_messages').where({ account_sid: req.params.accountSid });
    if (query.To) rows.andWhere({ to: query.To });
    if (query.From) rows.andWhere({ from: query.From });
    const after = query['DateSent>'];
    const before = query['DateSent<'];
    if (after && !Number.isNaN(Date.parse(after))) rows.andWhere('date_created', '>=', new Date(after));
    if (before && !Number.isNaN(Date.parse(before))) rows.andWhere('date_created', '<', new Date(before));
    if (query.DateSent && !Number.isNaN(Date.parse(query.DateSent))) {
      const day = new Date(query.DateSent);
      rows.andWhere('date_created', '>=', day).andWhere('date_created', '<', new Date(day.getTime() + 86_400_000));
    }
    if (query.To) await this.holds.beforeLookup(query.To);
    const token = /^PA(\d+)$/.exec(query.PageToken ?? '');
    if (token) rows.andWhere('seq', '<', token[1]!);
    const found = await rows
      .orderBy('seq', 'desc')
      .limit(pageSize + 1)
      .select<SandboxMessageRow[]>('*');
    const messages = found.slice(0, pageSize);
    const basePath = this.basePath(req);
    const filters = new URLSearchParams();
    for (const name of ['To', 'From', 'DateSent>', 'DateSent<', 'DateSent'])
      if (query[name]) filters.set(name, query[name]!);
    const uri = (extra: Record<string, string>) =>
      `${basePath}/Messages.json?${new URLSearchParams({ ...Object.fromEntries(filters), PageSize: String(pageSize), ...extra })}`;
    const last = messages[messages.length - 1];
    res.json({
      messages: messages.map((row) => toTwilioJson(row, basePath)),
      page,
      page_size: pageSize,
      start: page * pageSize,
      end: page * pageSize + messages.length - 1,
      uri: uri({ Page: String(page) }),
      first_page_uri: uri({ Page: '0' }),
      next_page_uri:
        found.length > pageSize && last ? uri({ Page: String(page + 1), PageToken: `PA${last.seq}` }) : null,
      previous_page_uri: null,
    });
    if (query.To) this.holds.afterLookup(query.To);
  }

  private async fetchMessage(req: Request, res: Response): Promise<void> {
    const row = await this.deps
      .db('sandbox_messages')
      .where({ account_sid: req.params.accountSid, sid: req.params.sid })
      .first<SandboxMessageRow | undefined>();
    if (!row) return void twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);
    res.json(toTwilioJson(row, this.basePath(req)));
  }

  /** Twilio's message update: `Body=""` redacts the text (GDPR erasure); any other body is refused, as there. */
  private async updateMessage(req: Request, res: Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.Body !== '') return void twilioError(res, 400, 21605, 'A message can only be updated to redact its Body.');
    const [row] = await this.deps
      .db('sandbox_messages')
      .where({ account_sid: req.params.accountSid, sid: req.params.sid })
      .update({ body: '', date_updated: new Date() })
      .returning<SandboxMessageRow[]>('*');
    if (!row) return void twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);
    res.json(toTwilioJson(row, this.basePath(req)));
  }

  private async deleteMessage(req: Request, res: Response): Promise<void> {
    const deleted = await this.deps
      .db('sandbox_messages')
      .where({ account_sid: req.params.accountSid, sid: req.params.sid })
      .delete();
    if (deleted === 0) return void twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);
    res.status(204).end();
  }

  private async lookup(req: Request, res: Response): Promise<void> {
    const number = normalizePhone(req.params.number);
    if (!number) {
      res.json({
        phone_number: req.params.number,
        valid: false,
        validation_errors: ['INVALID'],
        line_type_intelligence: null,
      });
      return;
    }
    const type = this.faults.landlines.includes(number) ? 'landline' : 'mobile';
    res.json({
      phone_number: number,
      valid: true,
      validation_errors: [],
      calling_country_code: null,
      country_code: null,
      national_format: null,
      line_type_intelligence: {
        type,
        carrier_name: 'Sandbox',
        error_code: null,
        mobile_country_code: null,
        mobile_network_code: null,
      },
      url: `https://lookups.twilio.com/v2/PhoneNumbers/${number}`,
    });
  }
}

/** An SMS as Twilio checks it: a body of up to 1,600 characters to a valid number. */
function checkSmsSend(body: Record<string, unknown>): WhatsAppSendCheck {
  const refuse = (code: number, message: string) => ({ ok: false as const, status: 400, code, message });
  if (typeof body.Body !== 'string' || body.Body === '') return refuse(21602, 'Message body is required.');
  // Twilio sends up to 1,600 characters as one (multi-part) message and refuses longer bodies.
  if ([...body.Body].length > 1600) {
    return refuse(21617, 'The concatenated message body exceeds the 1600 character limit.');
  }
  const to = body.To as string;
  if (normalizePhone(to) !== to) return refuse(21211, `The 'To' number ${to} is not a valid phone number.`);
  return { ok: true, body: body.Body, contentSid: null, contentVariables: null };
}
