import type { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../../app/context.ts';
import type { HandoffConfig } from '../../../domain/handoff.ts';
import { type ApiGuards, type ApiRegistry, defineApiRoute } from '../registry.ts';
import { sendLpError } from './errors.ts';
import { lpErrorSchema } from './reporting-shapes.ts';

/** LivePerson's channel names in the configuration API, and ours where they differ. */
const LP_CHANNEL_TYPE: Record<string, string> = {
  'sms-twilio': 'sms-twilio',
  whatsapp: 'wa',
  wa: 'wa',
  inapp: 'inapp',
};
const LP_CHANNELS = ['wa', 'sms-twilio', 'apple-twilio', 'googlercs', 'inapp'] as const;
const OUR_CHANNEL_TYPE: Record<string, string> = { 'sms-twilio': 'sms-twilio', wa: 'whatsapp', inapp: 'inapp' };

const listQuery = z.object({
  v: z.string().pipe(z.literal('1', { error: 'v must be 1' })),
  limit: z.coerce.number().int().min(1).max(1000).default(30),
  offset: z.coerce.number().int().min(0).default(0),
});

const channelSchema = z
  .object({
    type: z.string(),
    language: z.string().optional(),
    outboundnumber: z.string().optional(),
    messageComponents: z.array(z.record(z.string(), z.unknown())),
  })
  .catchall(z.unknown());
const handoffSchema = z.object({
  id: z.string(),
  name: z.string(),
  skill: z.string().nullable(),
  lookbackPeriodDay: z.number(),
  lookbackPeriodHour: z.number(),
  routeAllWithinLookback: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  channels: z.array(channelSchema),
});

interface HandoffRow {
  handoff_id: string;
  config: HandoffConfig;
  created_at: Date;
  updated_at: Date;
}

function toLivePerson(row: HandoffRow) {
  const { channels, ...rest } = row.config;
  return {
    id: row.handoff_id,
    ...rest,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    channels: channels.map((channel) => ({ ...channel, type: LP_CHANNEL_TYPE[channel.type] ?? channel.type })),
  };
}

/**
 * LivePerson's Outbound Configuration API: the account's API handoffs as a JSON array, all of them or those with
 * one channel (LivePerson's names: sms-twilio, wa, inapp …). Read-only, as LivePerson's is.
 */
export function livepersonHandoffRoutes(app: AppContext, router: Router, registry: ApiRegistry, guards: ApiGuards) {
  const page = (accountId: string, query: z.infer<typeof listQuery>, channel?: string) => {
    const rows = app.db('handoffs').where({ account_id: accountId }).whereNull('archived_at');
    // WhatsApp is stored as `wa` (LivePerson's name) or `whatsapp` (its alias).
    if (channel) rows.whereRaw('channel_types && ?::text[]', [channel === 'whatsapp' ? ['whatsapp', 'wa'] : [channel]]);
    return rows
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'handoff_id' }])
      .limit(query.limit)
      .offset(query.offset)
      .select<HandoffRow[]>('handoff_id', 'config', 'created_at', 'updated_at');
  };

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/handoffs/list',
      summary: 'LivePerson configuration API: every API handoff of the account',
      scope: 'handoffs:read',
      query: listQuery,
      responses: {
        200: { description: 'The handoffs, newest first', schema: z.array(handoffSchema) },
        400: { description: 'v is missing or not 1', schema: lpErrorSchema },
      },
    },
    async (req, res) => {
      res.json((await page(String(req.params.accountId), req.parsedQuery)).map(toLivePerson));
    },
  );

  defineApiRoute(
    router,
    registry,
    guards,
    {
      method: 'get',
      path: '/handoffs/list/channel/:channel',
      summary: 'LivePerson configuration API: the API handoffs with one channel',
      scope: 'handoffs:read',
      query: listQuery,
      responses: {
        200: {
          description:
            'Each handoff with that channel: the channel’s configuration (type, language, outboundnumber, ' +
            'messageComponents) at the top, beside the handoff’s id, name and all its channels',
          schema: z.array(handoffSchema.extend(channelSchema.shape)),
        },
        400: { description: 'Not one of LivePerson’s channel names, or v is not 1', schema: lpErrorSchema },
      },
    },
    async (req, res) => {
      const channel = String(req.params.channel);
      if (!(LP_CHANNELS as readonly string[]).includes(channel)) {
        return sendLpError(res, 400, `channel must be one of ${LP_CHANNELS.join(', ')}.`, 'INVALID_FIELD', {
          field: 'channel',
        });
      }
      const ours = OUR_CHANNEL_TYPE[channel];
      if (!ours) {
        res.json([]);
        return;
      }
      const rows = await page(String(req.params.accountId), req.parsedQuery, ours);
      res.json(
        rows.map((row) => {
          const handoff = toLivePerson(row);
          return { ...handoff.channels.find((entry) => entry.type === channel)!, ...handoff };
        }),
      );
    },
  );
}
