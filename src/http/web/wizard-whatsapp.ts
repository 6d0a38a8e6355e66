import { loadAccount } from '../../app/accounts.ts';
import { checkConsentAndSchedule } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import type { RowMessage } from '../../app/csv-recipients.ts';
import { usableTemplate, whatsappChannelOf } from '../../app/handoff-whatsapp.ts';
import { loadHandoff } from '../../app/handoffs.ts';
import {
  checkWhatsAppRecipient,
  createWhatsAppCampaign,
  type WhatsAppRecipient,
} from '../../app/whatsapp-campaigns.ts';
import { findSkill } from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { type HandoffConfig, lookbackHours } from '../../domain/handoff.ts';
import { contentVariableLayout, fillVariables, type TemplateContent } from '../../domain/template-content.ts';
import { whatsappSendersOf } from '../api/whatsapp-campaign.ts';
import { previewOf } from './templates.ts';

/**
 * WhatsApp and prioritized campaigns in the web wizard (F5, F7, F10): the campaign goes through a handoff with a
 * WhatsApp channel, whose approved template the CSV fills. Its columns are named as the SMS wizard names them: the
 * template's {{1}}…{{n}} are the columns after the number, in order; a column named for the header's type (`image`,
 * `video` or `document`) holds the header's media URL, and a column `button` the URL button's suffix (these two take
 * no position). Each row gets the API's per-consumer checks.
 */

export const BUTTON_COLUMN = 'button';

export type WizardRoute = Awaited<ReturnType<typeof wizardRoute>>;

/** The account's handoffs a web campaign can go through on WhatsApp, alone or prioritized. */
export async function whatsappHandoffs(app: AppContext, accountId: string) {
  const rows = await app
    .db('handoffs')
    .where({ account_id: accountId })
    .whereNull('archived_at')
    .orderBy('name')
    .select<{ handoff_id: string; name: string; config: HandoffConfig }[]>('handoff_id', 'name', 'config');
  return rows.flatMap((row) => {
    const route = whatsappChannelOf(row.config);
    return route ? [{ id: row.handoff_id, name: row.name, prioritized: route.sms !== null }] : [];
  });
}

/**
 * The handoff's WhatsApp route as a campaign takes it now: its template (approved, and plain text on the
 * prioritized channel, or refused as the API refuses it), its senders and the SMS fallback.
 */
export async function wizardRoute(app: AppContext, accountId: string, handoffId: string) {
  const config = await loadHandoff(app, accountId, handoffId);
  const route = config ? whatsappChannelOf(config) : null;
  if (!config || !route) {
    throw new DomainError('HANDOFF_NOT_FOUND', 'Choose one of the WhatsApp handoffs listed.', 'handoffId');
  }
  const template = await usableTemplate(app, accountId, route.whatsapp.templateId, {
    prioritized: route.sms !== null,
    field: 'handoffId',
  });
  const { settings } = await loadAccount(app, accountId);
  const senders = whatsappSendersOf(settings, config);
  return {
    handoffId,
    config,
    template,
    ...senders,
    senderAddress: settings.senders[senders.senderId]!.address,
    skillId: config.skill ? (findSkill(settings, config.skill)?.[0] ?? null) : null,
    mediaHosts: settings.whatsapp.mediaHosts,
  };
}

/** The CSV columns a template takes, in the order the step says them. */
export function columnsOf(content: TemplateContent) {
  const layout = contentVariableLayout(content);
  return {
    body: Array.from({ length: layout.body }, (_, index) => String(index + 1)),
    header: content.header?.type ?? null,
    button: layout.button ? BUTTON_COLUMN : null,
  };
}

/** A row's columns as the API's consumer entry: variables, headerVariables, buttonVariables (empty cells left out). */
function recipientOf(content: TemplateContent, values: Record<string, string>): Omit<WhatsAppRecipient, 'phone'> {
  const columns = columnsOf(content);
  const given = (name: string | null) => (name && values[name]?.trim() ? values[name]! : null);
  const header = given(columns.header);
  const button = given(columns.button);
  return {
    variables: Object.fromEntries(columns.body.flatMap((name) => (given(name) ? [[name, values[name]!]] : []))),
    headerVariables: header ? { [columns.header!]: header.trim() } : {},
    buttonVariables: button ? { '1': button } : {},
  };
}

/** The message a row makes, as the consumer will see it (header, body, footer), or its per-consumer code. */
export function whatsappRowMessage(route: WizardRoute): RowMessage {
  const { content } = route.template;
  const columns = columnsOf(content);
  const header = contentVariableLayout(content).header;
  return {
    variables: [...columns.body, ...[columns.header, columns.button].filter((name) => name !== null)],
    namedOnly: [columns.header, columns.button].filter((name) => name !== null),
    render(values) {
      // As in an SMS: an empty cell is no value, whatever the API would make of an empty string.
      const empty = columns.body.find((name) => !values[name]?.trim());
      if (empty !== undefined) return { ok: false, error: `MISSING_VARIABLE=${empty}` };
      const checked = checkWhatsAppRecipient(
        content,
        route.fallback?.text ?? null,
        recipientOf(content, values),
        route,
      );
      if (!checked.ok) return checked;
      const lines = [
        header && content.header ? `[${content.header.type}] ${checked.values[header]}` : null,
        fillVariables(content.body, checked.values),
        content.footer,
        checked.sms === null ? null : `SMS if WhatsApp cannot deliver: ${checked.sms}`,
      ];
      return { ok: true, text: lines.filter((line) => line !== null).join('\n') };
    },
  };
}

/** The message bubble of one row's values (views/templates/_preview), as the consumer will see it. */
export function bubbleOf(content: TemplateContent, values: Record<string, string>) {
  const recipient = recipientOf(content, values);
  const headerUrl = Object.values(recipient.headerVariables as Record<string, string>)[0];
  return previewOf({
    ...content,
    samples: recipient.variables as Record<string, string>,
    header: content.header && headerUrl ? { type: content.header.type, sampleUrl: headerUrl } : content.header,
  });
}

/** What a WhatsApp preview remembers: the handoff and template its rows were checked against, the first row's bubble. */
export function checkedAgainst(route: WizardRoute, first?: { variables: Record<string, string> }) {
  const { content } = route.template;
  return {
    handoffId: route.handoffId,
    templateId: route.template.id,
    bubble: first ? bubbleOf(content, first.variables) : null,
  };
}
export type CheckedAgainst = ReturnType<typeof checkedAgainst>;

/** Whether the rows were checked against this route as it is now (else the preview is outdated). */
export const sameRoute = (route: WizardRoute, checked: CheckedAgainst | null) =>
  checked?.handoffId === route.handoffId && checked.templateId === route.template.id;

/** Publishes the parsed rows through the handoff's route, with the API's checks (consent, schedule, each row). */
export async function publishWhatsApp(
  app: AppContext,
  route: WizardRoute,
  input: {
    accountId: string;
    actor: string;
    name: string;
    consent: boolean;
    consentStatement: string;
    sendAt?: Date;
    recipients: { phone: string; variables: Record<string, string> }[];
  },
) {
  const now = new Date();
  checkConsentAndSchedule({ consent: input.consent, sendAt: input.sendAt, now });
  const { config, template } = route;
  return createWhatsAppCampaign(
    { ...app, personalData: app.channels.personalData },
    {
      accountId: input.accountId,
      name: input.name,
      templateId: template.id,
      senderId: route.senderId,
      fallback: route.fallback,
      skillId: route.skillId,
      lookbackHours: lookbackHours(config),
      routeAllWithinLookback: config.routeAllWithinLookback,
      source: 'web',
      handoffId: route.handoffId,
      consent: input.consent,
      consentStatement: input.consentStatement,
      recipients: input.recipients.map((row) => ({
        phone: row.phone,
        ...recipientOf(template.content, row.variables),
      })),
      publish: true,
      sendAt: input.sendAt,
      now,
    },
    { actor: input.actor },
  );
}

/** Step 2 and 3 of the wizard: the WhatsApp handoffs to choose from, and the chosen one's template and columns. */
export async function whatsappStep(app: AppContext, accountId: string, handoffId: string) {
  const handoffs = await whatsappHandoffs(app, accountId);
  if (!handoffId) return { handoffs, chosen: null, problem: null };
  try {
    const route = await wizardRoute(app, accountId, handoffId);
    const { content } = route.template;
    return {
      handoffs,
      chosen: {
        prioritized: route.fallback !== null,
        templateName: content.name,
        senderAddress: route.senderAddress,
        fallbackText: route.fallback?.text ?? null,
        columns: columnsOf(content),
        bubble: previewOf(content),
      },
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { handoffs, chosen: null, problem: error.message };
  }
}
