import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { findProjection, projections } from '../../projections/index.ts';
import { addSender, setConversationIdleTimeout, setSendRate } from '../app/account-settings.ts';
import { addUser, createAccount } from '../app/accounts.ts';
import { createApiClient } from '../app/api-clients.ts';
import { loadConfig } from '../config.ts';
import { ROLES, type Role } from '../domain/account.ts';
import { API_SCOPES } from '../domain/account-settings.ts';
import { serveSandbox } from '../http/sandbox-server.ts';
import { createLogger } from '../infra/logger.ts';
import { replayProjection } from '../projections/replay.ts';
import { type OpenedApp, openApp } from '../wiring.ts';
import { settleReadModels } from './read-models.ts';

export const USAGE = `Usage: npx outbound <command> [options]

Commands:
  migrate                                   bring the read-model schema up to date
  replay [projection]                       rebuild one projection (or all) from the first event, then swap it in
  account create --id <id> --name <name> [--time-zone <IANA zone>]
  user add --account <id> --email <email> --role <${ROLES.join('|')}> [--name <name>] [--password <pw>]
                                            (without --password, one is generated and printed)
  sender add --account <id> --channel sms|whatsapp --address <E.164> [--rate <msg/s, 0 = no limit>] [--label <l>]
                                            (default rate 1 msg/s, a long code's)
  account set-send-rate --account <id> --channel sms|whatsapp|inapp --rate <msg/s, 0 = no limit>
  account set-conversation-timeout --account <id> --minutes <5..43200>
                                            (open conversations idle this long close by themselves; default 1440)
  api-client create --account <id> --scopes <${API_SCOPES.join(',')}> [--name <name>]
                                            (prints {clientId, clientSecret}; the secret is shown only here)
  sandbox [--port <n>]                      serve the Twilio sandbox as its own process (default port 3001);
                                            point the app at it with TWILIO_SANDBOX_URL=http://host:port/sandbox/twilio

Every command that writes returns once the read models that show the write have applied it, so the running app
serves it at once (--wait <seconds>, default 10, bounds that; it says so when they have not).

The CLI uses the same store as the app: DATABASE_URL when set, else the embedded Postgres that a running
'npm start' left its details for under ./.data/, else it starts the embedded Postgres itself.`;

/** Where the CLI writes: the process's streams, or a test's buffers. */
export interface CliIo {
  env: Record<string, string | undefined>;
  out(line: string): void;
  err(line: string): void;
}

export class UsageError extends Error {}

function option(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value.trim();
}

function parseRate(text: string): number {
  const rate = Number(text);
  if (text.trim() === '' || !Number.isFinite(rate) || rate < 0) {
    throw new UsageError('--rate must be a number of messages per second, 0 for no limit');
  }
  return rate;
}

function parseScopes(text: string): string[] {
  const scopes = [
    ...new Set(
      text
        .split(',')
        .map((scope) => scope.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--scopes must be a comma-separated list of ${API_SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  }
  return scopes;
}

function parseWait(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 600) {
    throw new UsageError('--wait must be a number of seconds from 0 to 600');
  }
  return seconds * 1000;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) throw new UsageError('--port must be a port number (0 picks a free one)');
  return port;
}

/** Resolves on SIGINT or SIGTERM: how a long-running command (the sandbox) is stopped. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      'time-zone': { type: 'string' },
      account: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      password: { type: 'string' },
      channel: { type: 'string' },
      address: { type: 'string' },
      rate: { type: 'string' },
      label: { type: 'string' },
      scopes: { type: 'string' },
      minutes: { type: 'string' },
      port: { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const CLI_ACTOR = { actor: `system:cli:${io.env.USER ?? 'operator'}` };
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  const known = ['migrate', 'replay', 'account', 'user', 'sender', 'api-client', 'sandbox'];
  if (!known.includes(command)) throw new UsageError(`unknown command: ${command}`);
  if (command === 'account' && !['create', 'set-send-rate', 'set-conversation-timeout'].includes(sub ?? '')) {
    throw new UsageError('did you mean: account create, account set-send-rate or account set-conversation-timeout');
  }
  if (command === 'user' && sub !== 'add') throw new UsageError('did you mean: user add');
  if (command === 'sender' && sub !== 'add') throw new UsageError('did you mean: sender add');
  if (command === 'api-client' && sub !== 'create') throw new UsageError('did you mean: api-client create');
  if (command === 'sandbox' && sub) throw new UsageError(`unexpected argument: ${sub}`);
  const scopes = command === 'api-client' ? parseScopes(option(values, 'scopes')) : [];
  const port = values.port === undefined ? 3001 : parsePort(values.port);
  const rate = values.rate === undefined ? undefined : parseRate(values.rate);
  if (command === 'account' && sub === 'set-send-rate' && rate === undefined)
    throw new UsageError('--rate is required');
  if (command === 'replay' && sub && !findProjection(sub)) {
    throw new UsageError(`no projection named ${sub}; known: ${projections.map((p) => p.name).join(', ')}`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
  const waitMs = values.wait === undefined ? 10_000 : parseWait(values.wait);

  const config = loadConfig(io.env);
  const log = createLogger(io.env.LOG_LEVEL ?? 'warn', { stderr: true });
  const opened: OpenedApp = await openApp(config, log);
  try {
    const app = opened.context;
    /** Prints the command's answer once the read models show the write; a lagging one is named on stderr. */
    const answer = async (written: Parameters<typeof settleReadModels>[1], output: unknown) => {
      const settled = await settleReadModels(app, written, { timeoutMs: waitMs });
      io.out(JSON.stringify(output));
      if (settled.behind.length > 0) {
        io.err(
          `outbound: written, but not yet shown by ${settled.behind.join(', ')} after ${waitMs / 1000} s; ` +
            'the app shows it once they catch up.',
        );
      }
      await settled.close();
    };
    switch (command) {
      case 'migrate':
        io.out('Read-model schema is up to date.');
        return 0;
      case 'replay': {
        const targets = sub ? [findProjection(sub)!] : projections;
        for (const projection of targets) {
          let last = 0;
          const result = await replayProjection(app.db, app.store, projection, {
            log,
            onProgress: (processed: number) => {
              if (processed - last >= 10_000) {
                last = processed;
                io.err(`  ${projection.name}: ${processed} events`);
              }
            },
          });
          io.out(`Replayed ${projection.name}: ${result.events} events in ${result.ms} ms`);
        }
        return 0;
      }
      case 'sender': {
        const result = await addSender(
          app,
          {
            accountId: option(values, 'account'),
            channel: option(values, 'channel'),
            address: option(values, 'address'),
            label: values.label,
            rate,
          },
          CLI_ACTOR,
        );
        await answer(result, { senderId: result.senderId, address: result.address });
        return 0;
      }
      case 'account': {
        if (sub === 'set-conversation-timeout') {
          const accountId = option(values, 'account');
          const text = option(values, 'minutes');
          if (!/^\d+$/.test(text)) throw new UsageError('--minutes must be a whole number of minutes');
          const result = await setConversationIdleTimeout(app, { accountId, minutes: Number(text) }, CLI_ACTOR);
          await answer(result, { accountId, conversationIdleMinutes: Number(text) });
          return 0;
        }
        if (sub === 'set-send-rate') {
          const accountId = option(values, 'account');
          const channel = option(values, 'channel');
          const result = await setSendRate(app, { accountId, channel, rate: rate! }, CLI_ACTOR);
          await answer(result, { accountId, channel, rate });
          return 0;
        }
        const accountId = option(values, 'id');
        const result = await createAccount(
          app,
          { accountId, name: option(values, 'name'), defaultTimeZone: values['time-zone'] ?? 'UTC' },
          CLI_ACTOR,
        );
        await answer(result, { accountId });
        return 0;
      }
      case 'api-client': {
        const accountId = option(values, 'account');
        const created = await createApiClient(
          app,
          { accountId, name: values.name?.trim() || `CLI client ${new Date().toISOString().slice(0, 10)}`, scopes },
          CLI_ACTOR,
        );
        await answer(created, { clientId: created.clientId, clientSecret: created.clientSecret });
        return 0;
      }
      case 'sandbox': {
        if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN) {
          throw new UsageError('TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are set: the sandbox serves only without them');
        }
        const sandbox = await serveSandbox({ config, db: app.db, log, port });
        io.out(`Twilio sandbox on ${sandbox.url}/sandbox (REST base ${sandbox.url}/sandbox/twilio)`);
        await untilStopped();
        await sandbox.close();
        return 0;
      }
      case 'user': {
        const role = option(values, 'role');
        if (!(ROLES as readonly string[]).includes(role)) {
          throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
        }
        const generated = values.password === undefined;
        const password = values.password ?? randomBytes(12).toString('base64url');
        const result = await addUser(
          app,
          {
            accountId: option(values, 'account'),
            email: option(values, 'email'),
            name: values.name,
            role: role as Role,
            password,
          },
          CLI_ACTOR,
        );
        await answer(result, { userId: result.userId, ...(generated ? { password } : {}) });
        return 0;
      }
    }
    return 2;
  } finally {
    await opened.close();
  }
}
