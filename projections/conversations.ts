import type { ConsumerEvent } from '../src/domain/consumer.ts';
import type { ConversationEvent } from '../src/domain/conversation.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/**
 * The agent inbox (F18): each conversation's state, skill and last activity, and its transcript, which opens with
 * the first proactive message. Texts stay sealed here; the web tool opens them with the consumer's key. On an
 * erasure (F14) the consumer's conversations keep their state and timestamps but lose the number and every text.
 */
export const conversationsProjection: Projection = {
  name: 'conversations',
  tables: ['conversations', 'conversation_messages'],
  handles: [
    'ConversationOpened',
    'ConsumerMessageReceived',
    'AgentMessageSent',
    'ConversationTransferred',
    'ConversationClosed',
    'ConsumerErased',
    'CampaignPersonalDataShredded',
  ],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      if (recorded.type === 'CampaignPersonalDataShredded') {
        // Retention (F14): the campaign's message that opened a conversation goes; the replies stay.
        const accountId = String(recorded.data.accountId);
        const opened = trx(table('conversations'))
          .where({ account_id: accountId, campaign_id: String(recorded.data.campaignId) })
          .select('conversation_id');
        await trx(table('conversation_messages'))
          .where({ account_id: accountId, direction: 'proactive' })
          .whereIn('conversation_id', opened)
          .update({ sealed: '' });
        continue;
      }
      if (recorded.type === 'ConsumerErased') {
        const { accountId, consumerRef } = (recorded as unknown as Extract<ConsumerEvent, { type: 'ConsumerErased' }>)
          .data;
        const theirs = trx(table('conversations'))
          .where({ account_id: accountId, consumer_ref: consumerRef })
          .select('conversation_id');
        await trx(table('conversation_messages'))
          .where({ account_id: accountId })
          .whereIn('conversation_id', theirs)
          .update({ sealed: '' });
        await trx(table('conversations'))
          .where({ account_id: accountId, consumer_ref: consumerRef })
          .update({ sealed_phone: null });
        continue;
      }
      const event = recorded as unknown as ConversationEvent & RecordedEvent;
      const { accountId, conversationId } = event.data;
      const where = { account_id: accountId, conversation_id: conversationId };
      switch (event.type) {
        case 'ConversationOpened': {
          const data = event.data;
          await trx(table('conversations'))
            .insert({
              ...where,
              consumer_ref: data.consumerRef,
              channel: data.channel,
              sender_id: data.senderId,
              skill_id: data.skillId,
              routing: data.routing,
              campaign_id: data.campaignId,
              message_id: data.messageId,
              status: 'open',
              sealed_phone: data.sealedPhone ?? null,
              opened_at: recorded.createdAt,
              last_activity_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'conversation_id'])
            .ignore();
          if (data.firstMessage) {
            await trx(table('conversation_messages'))
              .insert({
                event_id: recorded.id,
                ...where,
                direction: 'proactive',
                sealed: data.firstMessage.sealed,
                campaign_name: data.firstMessage.campaignName,
                at: data.firstMessage.sentAt,
              })
              .onConflict('event_id')
              .ignore();
          }
          break;
        }
        case 'ConsumerMessageReceived':
          await trx(table('conversation_messages'))
            .insert({
              event_id: recorded.id,
              ...where,
              direction: 'in',
              sealed: event.data.sealed,
              at: event.data.receivedAt,
            })
            .onConflict('event_id')
            .ignore();
          await trx(table('conversations'))
            .where(where)
            .update({ last_activity_at: event.data.receivedAt, last_consumer_at: event.data.receivedAt });
          break;
        case 'AgentMessageSent':
          await trx(table('conversation_messages'))
            .insert({
              event_id: recorded.id,
              ...where,
              direction: 'out',
              sealed: event.data.sealed,
              agent_id: event.data.agentId,
              at: event.data.sentAt,
            })
            .onConflict('event_id')
            .ignore();
          await trx(table('conversations')).where(where).update({ last_activity_at: event.data.sentAt });
          break;
        case 'ConversationTransferred':
          await trx(table('conversations')).where(where).update({ skill_id: event.data.toSkillId });
          break;
        case 'ConversationClosed':
          await trx(table('conversations')).where(where).update({
            status: 'closed',
            closed_at: event.data.closedAt,
            closed_by: event.data.by,
            close_reason: event.data.reason,
          });
          break;
      }
    }
  },
};
