import core from './20261124_0001_core.ts';
import accountsUsersAudit from './20261124_0002_accounts_users_audit.ts';
import accountSettings from './20261124_0003_account_settings.ts';
import apiAccess from './20261124_0004_api_access.ts';
import campaignsDispatch from './20261124_0005_campaigns_dispatch.ts';
import handoffs from './20261124_0006_handoffs.ts';
import personalData from './20261124_0007_personal_data.ts';
import twilioSandbox from './20261124_0008_twilio_sandbox.ts';
import reactors from './20261124_0009_reactors.ts';
import handoffNames from './20261126_0010_handoff_names.ts';
import statusWebhooks from './20261126_0011_status_webhooks.ts';
import conversations from './20261126_0012_conversations.ts';
import campaignUploads from './20261126_0013_campaign_uploads.ts';
import messageTimeline from './20261201_0014_message_timeline.ts';
import projectionHalts from './20261201_0015_projection_halts.ts';
import webhookSubscribers from './20261201_0016_webhook_subscribers.ts';
import messageOutcomes from './20261201_0017_message_outcomes.ts';
import gdpr from './20261201_0018_gdpr.ts';
import wizardRecipients from './20261201_0019_wizard_recipients.ts';
import whatsappTemplates from './20261201_0020_whatsapp_templates.ts';
import inapp from './20261201_0030_inapp.ts';
import sandboxInApp from './20261201_0031_sandbox_inapp.ts';
import sendPacing from './20261201_0040_send_pacing.ts';
import retention from './20261201_0050_retention.ts';
import consentStatements from './20261201_0051_consent_statements.ts';
import dailyStatsChannels from './20261208_0060_daily_stats_channels.ts';
import messageOutcomeChannels from './20261208_0061_message_outcome_channels.ts';
import completionDone from './20261209_0062_completion_done.ts';
import type { Migration } from './migration.ts';

/** In order. A new migration is a new file, added at the end. */
export const migrations: Migration[] = [
  core,
  accountsUsersAudit,
  accountSettings,
  apiAccess,
  campaignsDispatch,
  handoffs,
  personalData,
  twilioSandbox,
  reactors,
  handoffNames,
  statusWebhooks,
  conversations,
  campaignUploads,
  messageTimeline,
  projectionHalts,
  webhookSubscribers,
  messageOutcomes,
  gdpr,
  wizardRecipients,
  whatsappTemplates,
  sendPacing,
  inapp,
  sandboxInApp,
  retention,
  consentStatements,
  dailyStatsChannels,
  messageOutcomeChannels,
  completionDone,
];
