import { accountSettingsProjection } from '../../projections/account-settings.ts';
import { accountsProjection } from '../../projections/accounts.ts';
import { apiClientsProjection } from '../../projections/api-clients.ts';
import { auditEventsProjection } from '../../projections/audit-events.ts';
import { campaignMessagesProjection } from '../../projections/campaign-messages.ts';
import { campaignsProjection } from '../../projections/campaigns.ts';
import { consentHistoryProjection } from '../../projections/consent-history.ts';
import { conversationsProjection } from '../../projections/conversations.ts';
import { dailyStatsProjection } from '../../projections/daily-stats.ts';
import { dispatchQueueProjection } from '../../projections/dispatch-queue.ts';
import { handoffsProjection } from '../../projections/handoffs.ts';
import { optOutsProjection } from '../../projections/opt-outs.ts';
import { usersProjection } from '../../projections/users.ts';
import type { Projection } from './types.ts';

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
  consentHistoryProjection,
];

export function findProjection(name: string): Projection | undefined {
  return projections.find((projection) => projection.name === name);
}
