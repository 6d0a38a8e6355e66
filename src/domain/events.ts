import type { z } from 'zod';
import { AccountEvents } from './account.ts';
import { CampaignEvents } from './campaign.ts';
import { ConsumerEvents } from './consumer.ts';
import { ConversationEvents } from './conversation.ts';
import { HandoffEvents } from './handoff.ts';
import { InAppAppEvents } from './inapp.ts';
import { MessageEvents } from './message.ts';
import { TemplateEvents } from './template.ts';

/** Every event schema of the product, by type. A new stream type adds its map here. */
export const eventSchemas: Record<string, z.ZodType<Record<string, unknown>>> = {
  ...AccountEvents,
  ...HandoffEvents,
  ...CampaignEvents,
  ...MessageEvents,
  ...ConsumerEvents,
  ...ConversationEvents,
  ...TemplateEvents,
  ...InAppAppEvents,
};

/** Validates an event's data against its schema; throws for an unknown type or bad data. */
export function validateEventData(type: string, data: unknown): Record<string, unknown> {
  const schema = eventSchemas[type];
  if (!schema) throw new Error(`Unknown event type ${type}`);
  return schema.parse(data);
}
