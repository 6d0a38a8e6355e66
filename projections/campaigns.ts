import type { CampaignEvent } from '../src/domain/campaign.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** Campaign lifecycle for lists and status pages; per-status counts come from campaign_messages. */
export const campaignsProjection: Projection = {
  name: 'campaigns',
  tables: ['campaigns'],
  handles: [
    'CampaignDrafted',
    'RecipientsAdded',
    'RecipientsRejected',
    'CampaignScheduled',
    'CampaignPublished',
    'CampaignStarted',
    'CampaignCompleted',
    'CampaignCancelled',
    'CampaignFailed',
    'CampaignPersonalDataShredded',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as CampaignEvent & RecordedEvent;
      const where = { account_id: event.data.accountId, campaign_id: event.data.campaignId };
      const update = (values: Record<string, unknown>) => trx(table('campaigns')).where(where).update(values);
      switch (event.type) {
        case 'CampaignDrafted':
          await trx(table('campaigns'))
            .insert({
              ...where,
              name: event.data.name,
              channel: event.data.channel,
              sender_id: event.data.senderId,
              sender_address: event.data.senderAddress,
              skill: event.data.skillId,
              status: 'draft',
              source: event.data.source,
              handoff_id: event.data.handoffId,
              consent_statement: event.data.consentStatement ?? null,
              created_by: recorded.metadata.actor,
              created_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'campaign_id'])
            .ignore();
          break;
        case 'RecipientsAdded': {
          // Absolute, so applying the event twice counts it once: the batch's last sequence number + 1.
          const last = event.data.recipients[event.data.recipients.length - 1];
          if (last) await update({ recipient_count: trx.raw('greatest(recipient_count, ?)', [last.seq + 1]) });
          break;
        }
        case 'RecipientsRejected':
          await update({ rejected_count: event.data.rejections.length });
          break;
        case 'CampaignScheduled':
          await update({ status: 'scheduled', send_at: event.data.sendAt });
          break;
        case 'CampaignPublished':
          await update({ status: 'queued' });
          break;
        case 'CampaignStarted':
          await update({ status: 'in_progress', started_at: event.data.startedAt });
          break;
        case 'CampaignCompleted':
          await update({ status: 'completed', finished_at: event.data.completedAt });
          break;
        case 'CampaignCancelled':
          await update({ status: 'cancelled', finished_at: recorded.createdAt, status_reason: event.data.reason });
          break;
        case 'CampaignFailed':
          await update({ status: 'failed', finished_at: recorded.createdAt, status_reason: event.data.reason });
          break;
        case 'CampaignPersonalDataShredded':
          await update({ personal_data_shredded_at: event.data.shreddedAt });
          break;
      }
    }
  },
};
