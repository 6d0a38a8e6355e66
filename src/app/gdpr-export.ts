import { randomUUID } from 'node:crypto';
import * as consumer from '../domain/consumer.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import { ConsumerKeyErasedError, type PersonalData } from '../infra/personal-data.ts';
import { waitForProjection } from '../projections/wait.ts';
import { type ConsumerIdentityInput, holdsConsumer, resolveConsumer } from './gdpr.ts';
import { type CommandContext, handleCommand } from './handler.ts';

/**
 * A consumer's data export (F14, a DSAR): everything the account holds about them as one JSON document (their
 * events with the sealed fields opened, their read-model rows, their opt-in/opt-out history, their conversations
 * with the transcript, the consent each campaign recorded) and a ConsumerDataExported event naming who asked.
 * Only the consumer's own entries are read: a campaign's recipient batch shows their entry, never another's.
 */

export interface ExportDeps {
  store: EventStore;
  db: Db;
  personalData: PersonalData;
}

/** What an erased (or unreadable) sealed field reads as. */
const ERASED = '(erased)';

interface AuditRow {
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: Record<string, unknown>;
  actor: string;
  occurred_at: Date;
}

export async function exportConsumer(
  deps: ExportDeps,
  accountId: string,
  input: ConsumerIdentityInput,
  context: CommandContext,
) {
  const identity = await resolveConsumer(deps.personalData, accountId, input);
  const ref = identity.ref;
  const head = await deps.store.headPosition();
  if (head) {
    await waitForProjection(
      deps.db,
      ['audit-events', 'campaign-messages', 'conversations', 'consent-history', 'inapp-devices'],
      head,
      {
        timeoutMs: 10_000,
      },
    );
  }
  const open = async (sealed: unknown): Promise<unknown> => {
    // Empty or "erased": a read model already redacted it.
    if (typeof sealed !== 'string' || !/^v[12]\./.test(sealed)) return ERASED;
    try {
      return await deps.personalData.openFor(accountId, ref, sealed);
    } catch (error) {
      if (error instanceof ConsumerKeyErasedError) return ERASED;
      throw error;
    }
  };

  const events: AuditRow[] = await deps
    .db('audit_events')
    .where({ account_id: accountId })
    .andWhere((where) =>
      where
        .whereRaw(`data->>'consumerRef' = ?`, [ref])
        .orWhereRaw(
          `stream_id in (select 'conversation-' || (o.data->>'conversationId') from audit_events o
             where o.account_id = ? and o.type = 'ConversationOpened' and o.data->>'consumerRef' = ?)`,
          [accountId, ref],
        )
        .orWhereRaw(`type = 'RecipientsAdded' and data->'recipients' @> ?::jsonb`, [
          JSON.stringify([{ consumerRef: ref }]),
        ]),
    )
    .orderBy([{ column: 'commit_position' }, { column: 'prepare_position' }])
    .select('event_id', 'stream_id', 'revision', 'type', 'data', 'actor', 'occurred_at');

  const exportedEvents = [];
  for (const event of events) {
    exportedEvents.push({
      eventId: event.event_id,
      stream: event.stream_id,
      revision: event.revision,
      type: event.type,
      occurredAt: event.occurred_at.toISOString(),
      actor: event.actor,
      data: await openEventData(event, ref, open),
    });
  }

  const messages = await deps
    .db('campaign_messages as m')
    .leftJoin('campaigns as c', function join() {
      this.on('c.account_id', 'm.account_id').andOn('c.campaign_id', 'm.campaign_id');
    })
    .where({ 'm.account_id': accountId, 'm.consumer_ref': ref })
    .orderBy('m.queued_at')
    .select(
      'm.campaign_id as campaignId',
      'c.name as campaignName',
      'm.message_id as messageId',
      'm.channel',
      'm.status',
      'm.reason',
      'm.error_code as errorCode',
      'm.error_message as errorMessage',
      'm.provider_message_id as providerMessageId',
      'm.queued_at as queuedAt',
      'm.sent_at as sentAt',
      'm.conversation_id as conversationId',
    );

  const conversationRows = await deps
    .db('conversations')
    .where({ account_id: accountId, consumer_ref: ref })
    .orderBy('opened_at');
  const conversations = [];
  for (const row of conversationRows) {
    const transcript = await deps
      .db('conversation_messages')
      .where({ account_id: accountId, conversation_id: row.conversation_id })
      .orderBy('at')
      .select('direction', 'sealed', 'agent_id', 'campaign_name', 'at');
    conversations.push({
      conversationId: row.conversation_id,
      channel: row.channel,
      status: row.status,
      skillId: row.skill_id,
      campaignId: row.campaign_id,
      openedAt: row.opened_at,
      closedAt: row.closed_at,
      closeReason: row.close_reason,
      phone: row.sealed_phone ? (((await open(row.sealed_phone)) as { phone?: string }).phone ?? ERASED) : ERASED,
      transcript: await Promise.all(
        transcript.map(async (line) => ({
          direction: line.direction,
          at: line.at,
          agentId: line.agent_id,
          campaignName: line.campaign_name,
          text: ((await open(line.sealed)) as { text?: string }).text ?? ERASED,
        })),
      ),
    });
  }

  const campaignIds = [...new Set(messages.map((row) => row.campaignId as string))];
  for (const event of events) {
    if (event.type === 'RecipientsAdded') campaignIds.push(String(event.data.campaignId));
  }
  // Each campaign's consent as it was recorded: the flag, the statement, who drafted the campaign, and when.
  const campaignConsent = await deps
    .db('audit_events as e')
    .leftJoin('campaigns as c', function join() {
      this.on('c.account_id', 'e.account_id').andOn('c.campaign_id', deps.db.raw(`e.data->>'campaignId'`));
    })
    .where({ 'e.account_id': accountId, 'e.type': 'CampaignDrafted' })
    .whereRaw(`e.data->>'campaignId' = any(?)`, [[...new Set(campaignIds)]])
    .orderBy('e.occurred_at')
    .select(
      deps.db.raw(`e.data->>'campaignId' as "campaignId"`),
      'c.name',
      deps.db.raw(`(e.data->>'consent')::boolean as consent`),
      deps.db.raw(`e.data->>'consentStatement' as statement`),
      deps.db.raw(`e.data->>'source' as source`),
      'e.actor as recordedBy',
      'e.occurred_at as recordedAt',
    );
  const optOutHistory = await deps
    .db('consent_history')
    .where({ account_id: accountId, consumer_ref: ref })
    .orderBy('at')
    .select('opted_out as optedOut', 'keyword', 'channel', 'via', 'at');
  const optOut = await deps
    .db('opt_outs')
    .where({ account_id: accountId, consumer_ref: ref })
    .first('opted_out as optedOut', 'keyword', 'channel', 'via', 'changed_at as changedAt');

  // In-App (F6): the devices registered for the consumer now, with their push tokens.
  const deviceRows = await deps
    .db('inapp_devices')
    .where({ account_id: accountId, consumer_ref: ref })
    .orderBy('registered_at')
    .select('device_id', 'app_id', 'platform', 'time_zone', 'registered_at', 'sealed_token');
  const devices = [];
  for (const row of deviceRows) {
    devices.push({
      deviceId: row.device_id,
      appId: row.app_id,
      platform: row.platform,
      timeZone: row.time_zone,
      registeredAt: row.registered_at,
      push: await open(row.sealed_token),
    });
  }

  const exportId = randomUUID();
  const exportedAt = new Date().toISOString();
  await handleCommand(
    deps.store,
    consumer.consumerStream(accountId, ref),
    consumer,
    { type: 'RecordExport', accountId, consumerRef: ref, exportedBy: context.actor, exportId, exportedAt },
    context,
  );
  return {
    exportId,
    exportedAt,
    exportedBy: context.actor,
    accountId,
    consumer: { consumerRef: ref, kind: identity.phone ? 'phone' : 'inapp' },
    events: exportedEvents,
    campaignMessages: messages,
    conversations,
    devices,
    consent: {
      campaigns: campaignConsent,
      current: optOut ?? null,
      history: optOutHistory,
    },
  };
}

/** An event's data with its sealed fields opened; a recipient batch narrowed to this consumer's entry. */
async function openEventData(
  event: AuditRow,
  ref: string,
  open: (sealed: unknown) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const { sealed, sealedPhone, sealedToken, firstMessage, recipients, ...rest } = event.data as Record<string, unknown>;
  const data: Record<string, unknown> = { ...rest };
  if (sealed !== undefined) data.personalData = await open(sealed);
  if (sealedPhone !== undefined) data.phone = await open(sealedPhone);
  if (sealedToken !== undefined) data.push = await open(sealedToken);
  if (firstMessage && typeof firstMessage === 'object') {
    const { sealed: text, ...first } = firstMessage as Record<string, unknown>;
    data.firstMessage = { ...first, personalData: await open(text) };
  }
  if (Array.isArray(recipients)) {
    const mine = recipients.find((recipient) => (recipient as { consumerRef?: string }).consumerRef === ref) as
      | Record<string, unknown>
      | undefined;
    if (mine) {
      const { sealed: recipientSealed, ...entry } = mine;
      data.recipient = { ...entry, personalData: await open(recipientSealed) };
    }
  }
  return data;
}

/** What an erasure would take, for the web tool's confirmation: counts only, no personal data. */
export async function erasurePreview(deps: ExportDeps, accountId: string, input: ConsumerIdentityInput) {
  const identity = await resolveConsumer(deps.personalData, accountId, input);
  const ref = identity.ref;
  const held = await holdsConsumer(deps, accountId, ref);
  const messages = await deps
    .db('campaign_messages')
    .where({ account_id: accountId, consumer_ref: ref })
    .select(deps.db.raw('count(*)::int as messages'), deps.db.raw('count(distinct campaign_id)::int as campaigns'))
    .first();
  const conversations = await deps
    .db('conversations')
    .where({ account_id: accountId, consumer_ref: ref })
    .select(
      deps.db.raw('count(*)::int as conversations'),
      deps.db.raw(`count(*) filter (where status = 'open')::int as open`),
    )
    .first();
  const lines = await deps
    .db('conversation_messages')
    .where({ account_id: accountId })
    .whereIn(
      'conversation_id',
      deps.db('conversations').where({ account_id: accountId, consumer_ref: ref }).select('conversation_id'),
    )
    .whereNot('sealed', '')
    .count<{ n: string }[]>({ n: '*' })
    .first();
  const waiting = await deps
    .db('campaign_messages')
    .where({ account_id: accountId, consumer_ref: ref })
    .whereIn('status', ['queued', 'deferred', 'sending'])
    .count<{ n: string }[]>({ n: '*' })
    .first();
  return {
    identity: { phone: identity.phone, consumerId: identity.consumerId },
    held,
    messages: held ? (messages?.messages ?? 0) : 0,
    campaigns: held ? (messages?.campaigns ?? 0) : 0,
    waiting: held ? Number(waiting?.n ?? 0) : 0,
    conversations: held ? (conversations?.conversations ?? 0) : 0,
    openConversations: held ? (conversations?.open ?? 0) : 0,
    conversationLines: held ? Number(lines?.n ?? 0) : 0,
  };
}
