import { z } from 'zod';
import { channelSchema, weeklyWindowSchema } from './account-settings.ts';
import { assertNever, DomainError, type EventsOf } from './decider.ts';
import { inAppContentSchema } from './inapp-message.ts';
import { whatsappRouteSchema } from './whatsapp.ts';

/**
 * A campaign (`campaign-{id}`): Draft → Scheduled or Queued → In Progress → Completed; Scheduled, Queued or In
 * Progress → Cancelled; any unfinished state → Failed. Recipients arrive in batches of at most 1,000 per event, each with
 * its number and variables sealed under the consumer's key.
 */

export const campaignStream = (campaignId: string) => `campaign-${campaignId}`;
export const RECIPIENTS_PER_EVENT = 1000;
export const MAX_CONSENT_STATEMENT = 1000;

export const CAMPAIGN_STATUSES = [
  'draft',
  'scheduled',
  'queued',
  'in_progress',
  'completed',
  'cancelled',
  'failed',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number] | 'none';

const recipientSchema = z.object({
  seq: z.number().int().min(0),
  consumerRef: z.string(),
  messageId: z.string(),
  sealed: z.string(),
  /** The messages a text its variables take past 140 characters goes out as (absent: one). */
  segments: z.number().int().min(2).optional(),
});
export type Recipient = z.infer<typeof recipientSchema>;

export const CampaignEvents = {
  CampaignDrafted: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    name: z.string(),
    channel: channelSchema,
    /** In-App: the app's id (the app is the sender). */
    senderId: z.string(),
    senderAddress: z.string(),
    skillId: z.string().nullable(),
    text: z.string(),
    optOutText: z.string(),
    lookbackHours: z.number().int().min(1),
    routeAllWithinLookback: z.boolean(),
    source: z.enum(['web', 'api']),
    handoffId: z.string().nullable(),
    consent: z.boolean(),
    /**
     * F14: what the sender states about the recipients' consent, as recorded (the actor and time are the event's).
     * Absent on campaigns drafted before statements were recorded.
     */
    consentStatement: z.string().optional(),
    /** The campaign's own receiving window (the API's schedulingWindows); the account's when absent. */
    window: weeklyWindowSchema.optional(),
    /** A WhatsApp campaign's template (and on the prioritized channel, its SMS fallback). */
    whatsapp: whatsappRouteSchema.optional(),
    /** In-App (F6): the notification's title, image and destination; `text` is the message. */
    inapp: inAppContentSchema.optional(),
  }),
  RecipientsAdded: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    batch: z.number().int(),
    recipients: z.array(recipientSchema),
  }),
  RecipientsRejected: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    rejections: z.array(z.object({ row: z.number().int(), code: z.string(), field: z.string().optional() })),
  }),
  CampaignScheduled: z.object({ accountId: z.string(), campaignId: z.string(), sendAt: z.string() }),
  CampaignPublished: z.object({ accountId: z.string(), campaignId: z.string(), publishedAt: z.string() }),
  CampaignStarted: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    recipientCount: z.number().int(),
    startedAt: z.string(),
  }),
  CampaignCompleted: z.object({ accountId: z.string(), campaignId: z.string(), completedAt: z.string() }),
  CampaignCancelled: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    reason: z.string(),
    cancelledBy: z.string(),
  }),
  CampaignFailed: z.object({ accountId: z.string(), campaignId: z.string(), reason: z.string() }),
  /**
   * F14 retention: the campaign's key is gone, so its recipients' numbers, variables and message texts can no
   * longer be opened anywhere; read models drop their copies. Counts and statuses stay.
   */
  CampaignPersonalDataShredded: z.object({
    accountId: z.string(),
    campaignId: z.string(),
    shreddedAt: z.string(),
    retentionDays: z.number().int(),
  }),
};
export type CampaignEvent = EventsOf<typeof CampaignEvents>;
export type CampaignDrafted = z.infer<typeof CampaignEvents.CampaignDrafted>;

export type CampaignCommand =
  | ({ type: 'DraftCampaign' } & CampaignDrafted)
  | {
      type: 'AddRecipients';
      accountId: string;
      campaignId: string;
      recipients: Omit<Recipient, 'seq' | 'messageId'>[];
      rows?: number[];
    }
  | { type: 'Publish'; accountId: string; campaignId: string; now: string; sendAt?: string }
  | { type: 'Start'; accountId: string; campaignId: string; now: string }
  | { type: 'Complete'; accountId: string; campaignId: string; now: string }
  | { type: 'Cancel'; accountId: string; campaignId: string; reason: string; cancelledBy: string }
  | { type: 'Fail'; accountId: string; campaignId: string; reason: string }
  | { type: 'ShredPersonalData'; accountId: string; campaignId: string; now: string; retentionDays: number };

export interface Campaign {
  status: CampaignStatus;
  accountId: string;
  draft: CampaignDrafted | null;
  recipientCount: number;
  consumerRefs: Set<string>;
  batches: number;
  sendAt: string | null;
  personalDataShredded: boolean;
}

export const initialState = (): Campaign => ({
  status: 'none',
  accountId: '',
  draft: null,
  recipientCount: 0,
  consumerRefs: new Set(),
  batches: 0,
  sendAt: null,
  personalDataShredded: false,
});

export const messageIdFor = (campaignId: string, seq: number) => `${campaignId}.${seq}`;
export const isCancellable = (status: CampaignStatus) =>
  status === 'scheduled' || status === 'queued' || status === 'in_progress';
export const isTerminal = (status: CampaignStatus) =>
  status === 'completed' || status === 'cancelled' || status === 'failed';

function requireCampaign(state: Campaign, accountId: string): void {
  if (state.status === 'none' || state.accountId !== accountId)
    throw new DomainError('CAMPAIGN_NOT_FOUND', 'No such campaign.');
}

function illegal(code: string, state: Campaign, what: string): never {
  throw new DomainError(code, `A ${state.status.replace('_', ' ')} campaign cannot ${what}.`);
}

export const decide = (command: CampaignCommand, state: Campaign): CampaignEvent[] => {
  const { accountId, campaignId } = command;
  switch (command.type) {
    case 'DraftCampaign': {
      if (state.status !== 'none') throw new DomainError('CAMPAIGN_EXISTS', 'That campaign id is taken.');
      if (!command.consent) throw new DomainError('CONSENT_REQUIRED', 'consent must be true.', 'consent');
      if (command.consentStatement !== undefined) {
        const statement = command.consentStatement.trim();
        if (!statement || statement.length > MAX_CONSENT_STATEMENT) {
          throw new DomainError(
            'INVALID_FIELD',
            `consentStatement must be 1 to ${MAX_CONSENT_STATEMENT} characters.`,
            'consentStatement',
          );
        }
      }
      const { type: _type, ...data } = command;
      return [{ type: 'CampaignDrafted', data }];
    }
    case 'AddRecipients': {
      requireCampaign(state, accountId);
      if (state.status !== 'draft') illegal('CAMPAIGN_NOT_DRAFT', state, 'take more recipients');
      const seen = new Set(state.consumerRefs);
      const accepted: Recipient[] = [];
      const rejections: { row: number; code: string }[] = [];
      command.recipients.forEach((recipient, index) => {
        if (seen.has(recipient.consumerRef)) {
          rejections.push({ row: command.rows?.[index] ?? index, code: 'DUPLICATE_NUMBER' });
          return;
        }
        seen.add(recipient.consumerRef);
        const seq = state.recipientCount + accepted.length;
        accepted.push({ ...recipient, seq, messageId: messageIdFor(campaignId, seq) });
      });
      const events: CampaignEvent[] = [];
      for (let start = 0; start < accepted.length; start += RECIPIENTS_PER_EVENT) {
        events.push({
          type: 'RecipientsAdded',
          data: {
            accountId,
            campaignId,
            batch: state.batches + events.length,
            recipients: accepted.slice(start, start + RECIPIENTS_PER_EVENT),
          },
        });
      }
      if (rejections.length > 0)
        events.push({ type: 'RecipientsRejected', data: { accountId, campaignId, rejections } });
      return events;
    }
    case 'Publish': {
      requireCampaign(state, accountId);
      if (state.status !== 'draft') illegal('CAMPAIGN_NOT_DRAFT', state, 'be published');
      if (state.recipientCount === 0)
        throw new DomainError('NO_RECIPIENTS', 'The campaign has no valid recipients.', 'consumers');
      if (command.sendAt && command.sendAt > command.now) {
        return [{ type: 'CampaignScheduled', data: { accountId, campaignId, sendAt: command.sendAt } }];
      }
      return [{ type: 'CampaignPublished', data: { accountId, campaignId, publishedAt: command.now } }];
    }
    case 'Start': {
      requireCampaign(state, accountId);
      if (state.status === 'scheduled') {
        if (state.sendAt && command.now < state.sendAt)
          throw new DomainError('CAMPAIGN_NOT_DUE', 'The campaign is scheduled for later.');
      } else if (state.status !== 'queued') {
        illegal('CAMPAIGN_NOT_STARTABLE', state, 'start');
      }
      return [
        {
          type: 'CampaignStarted',
          data: { accountId, campaignId, recipientCount: state.recipientCount, startedAt: command.now },
        },
      ];
    }
    case 'Complete':
      requireCampaign(state, accountId);
      if (state.status !== 'in_progress') illegal('CAMPAIGN_NOT_IN_PROGRESS', state, 'complete');
      return [{ type: 'CampaignCompleted', data: { accountId, campaignId, completedAt: command.now } }];
    case 'Cancel':
      requireCampaign(state, accountId);
      if (!isCancellable(state.status)) illegal('CAMPAIGN_NOT_CANCELLABLE', state, 'be cancelled');
      return [
        {
          type: 'CampaignCancelled',
          data: { accountId, campaignId, reason: command.reason, cancelledBy: command.cancelledBy },
        },
      ];
    case 'Fail':
      requireCampaign(state, accountId);
      if (state.status === 'failed') return [];
      if (state.status === 'completed' || state.status === 'cancelled') illegal('CAMPAIGN_FINISHED', state, 'fail');
      return [{ type: 'CampaignFailed', data: { accountId, campaignId, reason: command.reason } }];
    case 'ShredPersonalData':
      requireCampaign(state, accountId);
      if (!isTerminal(state.status)) illegal('CAMPAIGN_NOT_FINISHED', state, 'have its personal data shredded');
      if (state.personalDataShredded) return [];
      return [
        {
          type: 'CampaignPersonalDataShredded',
          data: { accountId, campaignId, shreddedAt: command.now, retentionDays: command.retentionDays },
        },
      ];
    default:
      return assertNever(command);
  }
};

export const evolve = (state: Campaign, event: CampaignEvent): Campaign => {
  switch (event.type) {
    case 'CampaignDrafted':
      return { ...state, status: 'draft', accountId: event.data.accountId, draft: event.data };
    case 'RecipientsAdded': {
      const consumerRefs = new Set(state.consumerRefs);
      for (const recipient of event.data.recipients) consumerRefs.add(recipient.consumerRef);
      return {
        ...state,
        consumerRefs,
        recipientCount: state.recipientCount + event.data.recipients.length,
        batches: state.batches + 1,
      };
    }
    case 'RecipientsRejected':
      return state;
    case 'CampaignScheduled':
      return { ...state, status: 'scheduled', sendAt: event.data.sendAt };
    case 'CampaignPublished':
      return { ...state, status: 'queued' };
    case 'CampaignStarted':
      return { ...state, status: 'in_progress' };
    case 'CampaignCompleted':
      return { ...state, status: 'completed' };
    case 'CampaignCancelled':
      return { ...state, status: 'cancelled' };
    case 'CampaignFailed':
      return { ...state, status: 'failed' };
    case 'CampaignPersonalDataShredded':
      return { ...state, personalDataShredded: true };
    default:
      return assertNever(event);
  }
};
