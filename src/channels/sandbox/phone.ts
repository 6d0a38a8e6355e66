import type { Request, Response } from 'express';
import { z } from 'zod';
import { classifyKeyword } from '../../domain/consumer.ts';
import type { Db } from '../../infra/db.ts';
import { parseTwilioAddress, whatsappAddress } from '../twilio-whatsapp.ts';
import { newMessageSid, type SandboxCredentials } from './store.ts';

export interface SandboxPhoneDeps {
  db: Db;
  credentials: () => Promise<SandboxCredentials>;
  publicUrl?: string;
  /** POSTs form params to a webhook with Twilio's signature. */
  postSigned: (url: string, params: Record<string, string>) => Promise<number>;
}

/**
 * `POST /sandbox/phone/reply`, the consumer's phone: stores the reply, applies carrier-level STOP/START (SMS only),
 * then posts the signed inbound webhook, as Twilio would, with WhatsApp's fields for a `whatsapp:` reply.
 */
export async function consumerReply(deps: SandboxPhoneDeps, req: Request, res: Response): Promise<void> {
  const parsed = replySchema.safeParse(req.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    res.status(400).json({
      code: 'INVALID_FIELD',
      field: issue.path.join('.'),
      message: `${issue.path.join('.')}: ${issue.message}`,
    });
    return;
  }
  const from = parseTwilioAddress(parsed.data.from);
  const to = parseTwilioAddress(parsed.data.to);
  if (!from || !to || from.channel !== to.channel) {
    res.status(400).json({
      code: 'INVALID_NUMBER',
      field: from ? 'to' : 'from',
      message: 'from and to must be valid phone numbers, both whatsapp:+E164 for a WhatsApp reply',
    });
    return;
  }
  const whatsapp = from.channel === 'whatsapp';
  const address = (phone: string) => (whatsapp ? whatsappAddress(phone) : phone);
  const { accountSid } = await deps.credentials();
  const now = new Date();
  const sid = newMessageSid();
  await deps.db('sandbox_messages').insert({
    sid,
    account_sid: accountSid,
    from: address(from.phone),
    to: address(to.phone),
    body: parsed.data.body,
    status: 'received',
    direction: 'inbound',
    date_created: now,
    date_updated: now,
    date_sent: now,
  });
  // Carriers act on STOP and START for SMS only; on WhatsApp the business does.
  const keyword = whatsapp ? null : classifyKeyword(parsed.data.body);
  if (keyword === 'opt-out')
    await deps.db('sandbox_opt_outs').insert({ phone: from.phone, sender: to.phone }).onConflict().ignore();
  if (keyword === 'opt-in') await deps.db('sandbox_opt_outs').where({ phone: from.phone, sender: to.phone }).delete();
  const base = deps.publicUrl ?? `${req.protocol}://${req.get('host')}`;
  const status = await deps.postSigned(`${base.replace(/\/$/, '')}/webhooks/twilio/inbound`, {
    MessageSid: sid,
    SmsSid: sid,
    SmsMessageSid: sid,
    AccountSid: accountSid,
    From: address(from.phone),
    To: address(to.phone),
    Body: parsed.data.body,
    NumMedia: '0',
    NumSegments: '1',
    SmsStatus: 'received',
    ApiVersion: '2010-04-01',
    ...(whatsapp ? whatsAppInboundParams(from.phone, parsed.data) : {}),
  });
  if (req.get('hx-request')) {
    res.set('HX-Refresh', 'true').status(204).end();
    return;
  }
  res.status(201).json({ sid, webhookStatus: status });
}

const replySchema = z.object({
  from: z.string().min(1).max(48),
  to: z.string().min(1).max(48),
  body: z.string().max(1600),
  /** WhatsApp: a quick-reply tap sends the button's text as body and its id as buttonPayload. */
  buttonPayload: z.string().min(1).max(256).optional(),
  profileName: z.string().min(1).max(120).optional(),
});

/** What Twilio adds to a WhatsApp inbound message: the profile, the WhatsApp id, and for a tap the button. */
function whatsAppInboundParams(phone: string, reply: z.infer<typeof replySchema>): Record<string, string> {
  return {
    ProfileName: reply.profileName ?? 'Sandbox consumer',
    WaId: phone.slice(1),
    MessageType: reply.buttonPayload ? 'button' : 'text',
    ...(reply.buttonPayload ? { ButtonText: reply.body, ButtonPayload: reply.buttonPayload } : {}),
  };
}
