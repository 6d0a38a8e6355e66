import type { Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { AppContext } from '../app/context.ts';
import { sandboxPage } from '../channels/sandbox/page.ts';
import { ROLE_LABELS } from '../domain/account.ts';
import { requestTrace } from './api/errors.ts';
import { apiRoutes } from './api/index.ts';
import { lenientCampaignJson } from './api/lenient-json.ts';
import { livepersonErrorHandler } from './api/liveperson/errors.ts';
import { LIVEPERSON_PATHS } from './api/liveperson/index.ts';
import { errorHandler, notFound } from './errors.ts';
import { opsRoutes } from './ops.ts';
import { rejectUnsafeText } from './safe-text.ts';
import { analyticsRoutes } from './web/analytics.ts';
import { authRoutes } from './web/auth.ts';
import { campaignWizardRoutes, wizardUploadParser } from './web/campaign-wizard.ts';
import { campaignWebRoutes } from './web/campaigns.ts';
import { eventHistoryRoutes } from './web/events.ts';
import { gdprWebRoutes } from './web/gdpr.ts';
import { handoffWebRoutes } from './web/handoffs.ts';
import { inAppSandboxPageRoutes, inAppSandboxPushRoutes } from './web/inapp-sandbox.ts';
import { inAppSettingsRoutes } from './web/inapp-settings.ts';
import { inAppWindowRoutes } from './web/inapp-window.ts';
import { inAppWizardRoutes, inAppWizardUploadParser } from './web/inapp-wizard.ts';
import { inboxRoutes } from './web/inbox.ts';
import { onboardingRoutes } from './web/onboarding.ts';
import { loadSession, verifyCsrf } from './web/session.ts';
import { settingsRoutes } from './web/settings.ts';
import { ssoRoutes } from './web/sso.ts';
import { templateWebRoutes } from './web/templates.ts';
import { userRoutes } from './web/users.ts';
import { webhookWebRoutes } from './web/webhooks.ts';
import { twilioWebhooks } from './webhooks/twilio.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function createHttpApp(app: AppContext): Express {
  const server = express();
  server.disable('x-powered-by');
  server.set('view engine', 'ejs');
  server.set('views', path.join(root, 'views'));
  server.set('trust proxy', 'loopback');

  server.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      app.metrics.httpRequests.observe(
        { method: req.method, route, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });
  server.use(opsRoutes(app));
  useSecurityAndStatic(server);
  server.use(cookieParser());
  // Before the body parsers, so that a body they refuse is answered with a trace id too.
  server.use(['/api', '/oauth', '/sentinel'], requestTrace);
  server.use(express.urlencoded({ extended: false, limit: '5mb' }));
  server.use(lenientCampaignJson);
  server.use(express.json({ limit: '5mb' }));
  server.use(rejectUnsafeText);
  // The API authenticates with bearer tokens, never the session cookie, so it sits before sessions and CSRF.
  server.use(apiRoutes(app).router);
  server.use(
    twilioWebhooks(app, { authToken: async () => (await app.channels.twilioCredentials()).authToken, ...app.channels }),
  );
  if (app.channels.sandbox) server.use('/sandbox', app.channels.sandbox.router());
  // The in-app messaging window: its signed link is the consumer's only credential (no session, no CSRF token).
  server.use(inAppWindowRoutes(app));
  if (app.channels.sandbox) server.use(inAppSandboxPushRoutes(app));
  server.use(loadSession(app.db));
  server.use((req, res, next) => {
    res.locals.user = req.user ?? null;
    res.locals.csrfToken = req.csrfToken ?? '';
    res.locals.currentPath = req.path;
    res.locals.roleLabels = ROLE_LABELS;
    next();
  });
  // The wizard's Parse form is multipart; its CSRF field is read from that body before the check.
  server.use(wizardUploadParser());
  server.use(inAppWizardUploadParser());
  server.use(verifyCsrf);

  server.get('/', (req, res) => res.redirect(req.user ? '/onboarding' : '/login'));
  server.use(authRoutes(app));
  server.use(ssoRoutes(app));
  server.use(onboardingRoutes(app));
  server.use(userRoutes(app));
  server.use(eventHistoryRoutes(app));
  server.use(handoffWebRoutes(app));
  server.use(templateWebRoutes(app));
  server.use(inboxRoutes(app));
  server.use(analyticsRoutes(app));
  server.use(campaignWizardRoutes(app));
  server.use(inAppWizardRoutes(app));
  server.use(campaignWebRoutes(app));
  server.use(settingsRoutes(app));
  server.use(webhookWebRoutes(app));
  server.use(inAppSettingsRoutes(app));
  server.use(gdprWebRoutes(app));
  if (app.channels.sandbox) server.use(inAppSandboxPageRoutes(app));
  if (app.channels.sandbox) server.use(sandboxPage({ db: app.db, credentials: app.channels.twilioCredentials }));

  server.use(notFound);
  server.use(LIVEPERSON_PATHS, livepersonErrorHandler(app.log));
  server.use(errorHandler(app.log));
  return server;
}

/**
 * helmet's headers (a CSP that allows only our own scripts) and the static files: the vendored htmx and Pico.css,
 * and public/. Shared by the app and the standalone sandbox, so the two cannot drift apart.
 */
export function useSecurityAndStatic(server: Express): void {
  server.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // htmx adds its indicator styles inline.
          'style-src': ["'self'", "'unsafe-inline'"],
          'script-src': ["'self'"],
          // Self-hosted on plain http (npm start on localhost) must keep working: upgrading htmx's requests to
          // https would break them. Behind TLS, HSTS does the upgrading.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  server.use('/static/vendor/htmx.min.js', express.static(path.join(root, 'node_modules/htmx.org/dist/htmx.min.js')));
  server.use(
    '/static/vendor/pico.min.css',
    express.static(path.join(root, 'node_modules/@picocss/pico/css/pico.min.css')),
  );
  server.use('/static', express.static(path.join(root, 'public'), { maxAge: '1h' }));
}

/**
 * Requests Node refuses before Express sees them (headers or URL over 16 KB, malformed HTTP) still get a JSON
 * error body, like every other answer of the API.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (error as { code?: string }).code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const body = JSON.stringify({
      code: tooLarge ? 'REQUEST_TOO_LARGE' : 'BAD_REQUEST',
      message: tooLarge ? 'The URL or headers are larger than 16 KB.' : 'The request is not valid HTTP.',
      requestTraceId: null,
    });
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
