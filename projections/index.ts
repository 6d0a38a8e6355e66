import type { Projection } from '../src/projections/types.ts';
import { accountSettingsProjection } from './account-settings.ts';
import { accountsProjection } from './accounts.ts';
import { apiClientsProjection } from './api-clients.ts';
import { auditEventsProjection } from './audit-events.ts';
import { campaignMessagesProjection } from './campaign-messages.ts';
import { campaignsProjection } from './campaigns.ts';
import { consentHistoryProjection } from './consent-history.ts';
import { conversationsProjection } from './conversations.ts';
import { dailyStatsProjection } from './daily-stats.ts';
import { dispatchQueueProjection } from './dispatch-queue.ts';
import { handoffsProjection } from './handoffs.ts';
import { inAppDevicesProjection } from './inapp-devices.ts';
import { messageOutcomesProjection } from './message-outcomes.ts';
import { messageTimelineProjection } from './message-timeline.ts';
import { optOutsProjection } from './opt-outs.ts';
import { templatesProjection } from './templates.ts';
import { usersProjection } from './users.ts';

/**
 * Every read model of the product: the runner runs them, `npm run replay` rebuilds them, /readyz waits for them.
 * A new projection (projections/<name>.ts) is appended here and nowhere else.
 */
export const projections: Projection[] = [
  accountsProjection,
  usersProjection,
  accountSettingsProjection,
  apiClientsProjection,
  handoffsProjection,
  campaignsProjection,
  campaignMessagesProjection,
  dispatchQueueProjection,
  optOutsProjection,
  dailyStatsProjection,
  auditEventsProjection,
  conversationsProjection,
  messageOutcomesProjection,
  messageTimelineProjection,
  consentHistoryProjection,
  templatesProjection,
  inAppDevicesProjection,
];

export function findProjection(name: string): Projection | undefined {
  return projections.find((projection) => projection.name === name);
}
