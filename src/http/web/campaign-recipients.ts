import type { Request } from 'express';
import { loadCampaign } from '../../app/campaigns.ts';
import type { AppContext } from '../../app/context.ts';
import type { Role } from '../../domain/account.ts';
import { maskNumber } from '../../domain/phone-input.ts';
import { renderSms, withOptOut } from '../../domain/sms.ts';
import { fillVariables } from '../../domain/template-content.ts';
import { ConsumerKeyErasedError } from '../../infra/personal-data.ts';

const RECIPIENT_PAGE = 50;
/** Who may read recipients' numbers and the messages as sent: the roles that upload the lists. */
const SEES_PERSONAL_DATA: readonly Role[] = ['admin', 'campaign_manager'];
const MESSAGE_STATUSES = [
  'queued',
  'deferred',
  'sending',
  'retrying',
  'sent',
  'delivered',
  'read',
  'responded',
  'undelivered',
  'failed',
  'skipped',
];

interface Template {
  text: string;
  optOutText: string;
  /** A WhatsApp template's body takes the recipient's contentVariables ({{1}}…), header URL and all. */
  whatsapp: boolean;
}

const page = (value: unknown) => Math.max(1, Math.min(10_000, Number.parseInt(String(value ?? '1'), 10) || 1));

/**
 * The recipients table of a campaign page (F10/F16): number, the message as sent, status, reason. Numbers and
 * variables are read from each message's sealed recipient with the consumer's key; an erased consumer shows as
 * erased. Roles that do not work with the lists see the number masked and the variables blanked.
 */
export function campaignRecipients(app: AppContext) {
  // A campaign's text never changes after it is drafted: read once per process, not on every poll.
  const templates = new Map<string, Template>();
  async function templateOf(accountId: string, campaignId: string): Promise<Template | null> {
    const key = `${accountId}/${campaignId}`;
    const known = templates.get(key);
    if (known) return known;
    const state = await loadCampaign(app, campaignId);
    if (!state.draft || state.accountId !== accountId) return null;
    const template = {
      text: state.draft.text,
      optOutText: state.draft.optOutText,
      whatsapp: state.draft.whatsapp !== undefined,
    };
    if (templates.size > 500) templates.delete(templates.keys().next().value!);
    templates.set(key, template);
    return template;
  }

  return async function recipientsOf(req: Request, campaignId: string) {
    const accountId = req.user!.accountId;
    const status = MESSAGE_STATUSES.includes(String(req.query.recipients)) ? String(req.query.recipients) : '';
    const current = page(req.query.page);
    const base = app.db('campaign_messages').where({ account_id: accountId, campaign_id: campaignId });
    if (status) base.andWhere({ status });
    const [rows, total, template] = await Promise.all([
      base
        .clone()
        .orderBy('seq')
        .limit(RECIPIENT_PAGE)
        .offset((current - 1) * RECIPIENT_PAGE)
        .select(
          'message_id',
          'seq',
          'consumer_ref',
          'sealed',
          'status',
          'reason',
          'error_code',
          'error_message',
          'sent_at',
          'deferred_until',
        ),
      base.clone().count<{ count: string }[]>('* as count'),
      templateOf(accountId, campaignId),
    ]);
    const full = SEES_PERSONAL_DATA.includes(req.user!.role);
    const recipients = await Promise.all(
      rows.map(async (row) => {
        const shown = await recipientOf(row.consumer_ref, row.sealed);
        return { ...row, number: shown.number, message: shown.message };
      }),
    );
    const count = Number(total[0]?.count ?? 0);
    const query = new URLSearchParams({ ...(status ? { recipients: status } : {}), page: String(current) });
    return {
      recipients,
      recipientStatus: status,
      messageStatuses: MESSAGE_STATUSES,
      page: current,
      pages: Math.max(1, Math.ceil(count / RECIPIENT_PAGE)),
      recipientsQuery: `?${query}`,
      personalDataShown: full,
    };

    async function recipientOf(ref: string, sealed: string | null): Promise<{ number: string; message: string }> {
      if (!sealed) return { number: '—', message: '' };
      // A number (SMS, WhatsApp) or the brand's consumer id (In-App).
      let recipient: { phone?: string; consumerId?: string; variables?: Record<string, string> };
      try {
        recipient = await app.channels.personalData.openFor(accountId, ref, sealed);
      } catch (error) {
        if (error instanceof ConsumerKeyErasedError) return { number: 'erased', message: '(erased)' };
        throw error;
      }
      const variables = Object.fromEntries(
        Object.entries(recipient.variables ?? {}).map(([name, value]) => [name, full ? value : '•••']),
      );
      const rendered = !template
        ? null
        : template.whatsapp
          ? { ok: true as const, text: fillVariables(template.text, variables) }
          : renderSms(template.text, variables);
      return {
        number: recipient.phone
          ? full
            ? recipient.phone
            : maskNumber(recipient.phone)
          : full
            ? (recipient.consumerId ?? '—')
            : '•••',
        message: rendered?.ok ? withOptOut(rendered.text, template!.optOutText) : '',
      };
    }
  };
}
