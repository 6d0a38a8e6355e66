import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { sandboxPage } from '../channels/sandbox/page.ts';
import { TwilioSandbox } from '../channels/sandbox/rest.ts';
import { sandboxCredentials } from '../channels/sandbox/store.ts';
import type { Config } from '../config.ts';
import { ROLE_LABELS } from '../domain/account.ts';
import type { Db } from '../infra/db.ts';
import { kept } from '../infra/kept.ts';
import type { Logger } from '../infra/logger.ts';
import { errorHandler, notFound } from './errors.ts';
import { useSecurityAndStatic } from './server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface StandaloneSandbox {
  url: string;
  close(): Promise<void>;
}

/**
 * `outbound sandbox`: the Twilio sandbox as its own process, on the app's database (its tables and its kept
 * credentials), so that the app reaches it through TWILIO_SANDBOX_URL exactly as it would reach Twilio. Consumer
 * replies go to the app's inbound webhook at PUBLIC_URL, or at the app's default address.
 */
export async function serveSandbox(deps: {
  config: Config;
  db: Db;
  log: Logger;
  port: number;
  host?: string;
}): Promise<StandaloneSandbox> {
  // Read once, not twice per request.
  const credentials = kept(() =>
    sandboxCredentials(deps.db, {
      accountSid: deps.config.TWILIO_SANDBOX_ACCOUNT_SID,
      authToken: deps.config.TWILIO_SANDBOX_AUTH_TOKEN,
    }),
  );
  const sandbox = new TwilioSandbox({
    db: deps.db,
    log: deps.log,
    credentials,
    publicUrl: deps.config.PUBLIC_URL ?? `http://127.0.0.1:${deps.config.PORT}`,
  });
  const server = express();
  server.disable('x-powered-by');
  server.set('view engine', 'ejs');
  server.set('views', path.join(root, 'views'));
  useSecurityAndStatic(server);
  server.use(express.urlencoded({ extended: false, limit: '1mb' }));
  server.use(express.json({ limit: '1mb' }));
  server.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  server.get('/', (_req, res) => res.redirect('/sandbox'));
  server.use('/sandbox', sandbox.router());
  server.use((req, res, next) => {
    res.locals.user = null;
    res.locals.csrfToken = '';
    res.locals.currentPath = req.path;
    res.locals.roleLabels = ROLE_LABELS;
    next();
  });
  server.use(sandboxPage({ db: deps.db, credentials }));
  server.use(notFound);
  server.use(errorHandler(deps.log));

  const listening: Server = await new Promise((resolve, reject) => {
    const started = server.listen(deps.port, deps.host ?? '0.0.0.0', () => resolve(started));
    started.once('error', reject);
  });
  const address = listening.address();
  const port = typeof address === 'object' && address ? address.port : deps.port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      sandbox.stop();
      listening.closeAllConnections();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    },
  };
}
