import { type Request, type Response, Router } from 'express';
import {
  addSender,
  addSkill,
  removeSender,
  setConversationIdleTimeout,
  setDefaultCountry,
  setDefaultTimeZone,
  setLineTypeCheck,
  setReceivingWindow,
  setRetentionPeriod,
  setSenderRate,
  setSendRate,
  setWhatsAppSettings,
} from '../../app/account-settings.ts';
import { loadAccount } from '../../app/accounts.ts';
import { createApiClient, revokeApiClient } from '../../app/api-clients.ts';
import type { AppContext } from '../../app/context.ts';
import {
  API_SCOPES,
  DEFAULT_ACCOUNT_SEND_RATE,
  MAX_RETENTION_DAYS,
  WEEKDAYS,
  type WeeklyWindow,
} from '../../domain/account-settings.ts';
import { DomainError } from '../../domain/decider.ts';
import { countryChoices } from '../../domain/phone-input.ts';
import { DEFAULT_SMS_WINDOW } from '../../domain/receiving-window.ts';
import type { GlobalPosition } from '../../eventstore/port.ts';
import { httpStatus } from '../domain-statuses.ts';
import { withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

const EDITORS = ['admin', 'campaign_manager'] as const;

interface Flash {
  section: string;
  error?: string;
  field?: string;
  secret?: { clientId: string; clientSecret: string };
}

/**
 * The account's settings (F9, F13, F15, F8, F18, F17 API access), read from the account's own stream so that a
 * change shows at once. Admins and Campaign Managers change senders, rates, windows, skills, the time zone and the
 * idle timeout; Admins alone manage API clients; other roles read.
 */
export function settingsRoutes(app: AppContext): Router {
  const router = Router();

  async function render(req: Request, res: Response, flash: Flash | null = null, status = 200) {
    const account = await loadAccount(app, req.user!.accountId);
    const settings = account.settings;
    const body = (req.body ?? {}) as Record<string, string>;
    res.status(status).render('settings/index', {
      title: 'Settings',
      senders: Object.entries(settings.senders).map(([id, sender]) => ({ id, ...sender })),
      sendRate: settings.sendRates.sms ?? DEFAULT_ACCOUNT_SEND_RATE,
      skills: Object.entries(settings.skills).map(([id, skill]) => ({
        id,
        name: skill.name,
        isDefault: settings.defaultSkillId === id,
      })),
      window: settings.windows.sms ?? DEFAULT_SMS_WINDOW,
      weekdays: WEEKDAYS,
      timeZone: settings.defaultTimeZone,
      defaultCountry: settings.defaultCountry,
      countries: countryChoices(),
      idleMinutes: settings.conversationIdleMinutes,
      lineTypeCheck: settings.lineTypeCheck,
      whatsapp: settings.whatsapp,
      retentionDays: settings.retentionDays,
      maxRetentionDays: MAX_RETENTION_DAYS,
      apiClients: Object.entries(settings.apiClients).map(([id, client]) => ({ id, ...client })),
      scopes: API_SCOPES,
      canEdit: (EDITORS as readonly string[]).includes(req.user!.role),
      isAdmin: req.user!.role === 'admin',
      flash,
      input: flash?.error ? body : {},
    });
  }

  /** Runs a change; a refusal re-renders the page with the error on its section, keeping what was typed. */
  const change =
    (section: string, act: (req: Request) => Promise<{ position: GlobalPosition | null }>) =>
    async (req: Request, res: Response) => {
      try {
        const result = await act(req);
        res.redirect(303, withPosition(`/settings#${section}`, result.position));
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        await render(req, res, { section, error: error.message, field: error.field }, httpStatus(error));
      }
    };
  const context = (req: Request) => ({ actor: req.user!.userId });
  const accountId = (req: Request) => req.user!.accountId;
  const text = (req: Request, name: string) => {
    const value = (req.body as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value.trim() : '';
  };
  const rate = (req: Request, name = 'rate') => {
    const value = text(req, name);
    if (!/^\d+(\.\d+)?$/.test(value)) {
      throw new DomainError('INVALID_RATE', 'The rate is a number of messages a second (0 for no limit).', name);
    }
    return Number(value);
  };

  router.get('/settings', requireUser, async (req, res) => {
    await render(req, res);
  });

  router.post(
    '/settings/senders',
    requireRole(...EDITORS),
    change('senders', (req) =>
      addSender(
        app,
        {
          accountId: accountId(req),
          channel: text(req, 'channel') === 'whatsapp' ? 'whatsapp' : 'sms',
          address: text(req, 'address'),
          label: text(req, 'label') || undefined,
          rate: text(req, 'rate') === '' ? undefined : rate(req),
        },
        context(req),
      ),
    ),
  );

  router.post(
    '/settings/senders/:id/rate',
    requireRole(...EDITORS),
    change('senders', (req) =>
      setSenderRate(app, { accountId: accountId(req), senderId: String(req.params.id), rate: rate(req) }, context(req)),
    ),
  );

  router.post(
    '/settings/senders/:id/remove',
    requireRole(...EDITORS),
    change('senders', (req) =>
      removeSender(app, { accountId: accountId(req), senderId: String(req.params.id) }, context(req)),
    ),
  );

  router.post(
    '/settings/send-rate',
    requireRole(...EDITORS),
    change('senders', (req) =>
      setSendRate(app, { accountId: accountId(req), channel: 'sms', rate: rate(req) }, context(req)),
    ),
  );

  router.post(
    '/settings/skills',
    requireRole(...EDITORS),
    change('skills', (req) =>
      addSkill(
        app,
        { accountId: accountId(req), name: text(req, 'name'), isDefault: text(req, 'isDefault') === 'on' },
        context(req),
      ),
    ),
  );

  router.post(
    '/settings/window',
    requireRole(...EDITORS),
    change('window', (req) => {
      const window = Object.fromEntries(
        WEEKDAYS.map((day) => [
          day,
          text(req, `${day}.open`) === 'on' ? { start: text(req, `${day}.start`), end: text(req, `${day}.end`) } : null,
        ]),
      ) as WeeklyWindow;
      return setReceivingWindow(app, { accountId: accountId(req), channel: 'sms', window }, context(req));
    }),
  );

  router.post(
    '/settings/time-zone',
    requireRole(...EDITORS),
    change('time-zone', (req) =>
      setDefaultTimeZone(app, { accountId: accountId(req), timeZone: text(req, 'timeZone') }, context(req)),
    ),
  );

  router.post(
    '/settings/default-country',
    requireRole(...EDITORS),
    change('default-country', (req) =>
      setDefaultCountry(app, { accountId: accountId(req), country: text(req, 'country') || null }, context(req)),
    ),
  );

  router.post(
    '/settings/conversation-timeout',
    requireRole(...EDITORS),
    change('conversations', (req) => {
      const minutes = text(req, 'minutes');
      if (!/^\d+$/.test(minutes)) {
        throw new DomainError('INVALID_TIMEOUT', 'The timeout is a whole number of minutes.', 'minutes');
      }
      return setConversationIdleTimeout(app, { accountId: accountId(req), minutes: Number(minutes) }, context(req));
    }),
  );

  router.post(
    '/settings/line-type-check',
    requireRole(...EDITORS),
    change('line-type', (req) => {
      const days = text(req, 'cacheDays');
      if (!/^\d+$/.test(days)) {
        throw new DomainError('INVALID_CACHE_DAYS', 'The cache period is a whole number of days.', 'cacheDays');
      }
      const enabled = (req.body as Record<string, unknown> | undefined)?.enabled === 'on';
      return setLineTypeCheck(app, { accountId: accountId(req), enabled, cacheDays: Number(days) }, context(req));
    }),
  );

  router.post(
    '/settings/whatsapp',
    requireRole(...EDITORS),
    change('whatsapp', (req) => {
      const fallbackOptOut = (req.body as Record<string, unknown> | undefined)?.fallbackOptOut === 'on';
      return setWhatsAppSettings(
        app,
        { accountId: accountId(req), mediaHosts: text(req, 'mediaHosts'), fallbackOptOut },
        context(req),
      );
    }),
  );

  router.post(
    '/settings/retention',
    requireRole(...EDITORS),
    change('retention', (req) => {
      const days = text(req, 'retentionDays');
      if (days !== '' && !/^\d+$/.test(days)) {
        throw new DomainError(
          'INVALID_RETENTION',
          'The retention period is a whole number of days, or empty to keep everything.',
          'retentionDays',
        );
      }
      return setRetentionPeriod(
        app,
        { accountId: accountId(req), days: days === '' ? null : Number(days) },
        context(req),
      );
    }),
  );

  router.post('/settings/api-clients', requireRole('admin'), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const scopes = API_SCOPES.filter((scope) => body[`scope.${scope}`] === 'on');
    try {
      const created = await createApiClient(
        app,
        { accountId: accountId(req), name: text(req, 'name'), scopes },
        context(req),
      );
      // The secret is shown on this answer only; only its hash is kept.
      await render(req, res, {
        section: 'api-clients',
        secret: { clientId: created.clientId, clientSecret: created.clientSecret },
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await render(req, res, { section: 'api-clients', error: error.message, field: error.field }, httpStatus(error));
    }
  });

  router.post(
    '/settings/api-clients/:id/revoke',
    requireRole('admin'),
    change('api-clients', (req) =>
      revokeApiClient(app, { accountId: accountId(req), clientId: String(req.params.id) }, context(req)),
    ),
  );

  return router;
}
