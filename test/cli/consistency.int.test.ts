import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../src/cli/commands.ts';
import { CHECKPOINTS } from '../../src/projections/types.ts';
import { readyAccount } from '../dispatch/support.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

/**
 * What the CLI writes is there for the running app when the CLI returns: the app (HTTP and its projections) runs
 * here, and the CLI runs its real command code against the same database with its own pools and store, as the
 * `npx outbound` process does.
 */
let running: TestApp;

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '0' });
  await readyAccount(running);
});
afterAll(async () => {
  await running?.close();
});

interface CliRun {
  done: Promise<number>;
  out: string[];
  err: string[];
  /** Resolves once a line matching `pattern` was written to stdout or stderr. */
  line(pattern: RegExp): Promise<string>;
}

function cli(args: string[]): CliRun {
  const out: string[] = [];
  const err: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const written = (lines: string[]) => (line: string) => {
    lines.push(line);
    for (const waiter of waiters.filter((candidate) => candidate.pattern.test(line))) waiter.resolve(line);
  };
  const io: CliIo = {
    env: { DATABASE_URL: running.app.config.DATABASE_URL, LOG_LEVEL: 'silent', USER: 'test' },
    out: written(out),
    err: written(err),
  };
  return {
    done: runCli(args, io),
    out,
    err,
    line: (pattern) => {
      const seen = [...out, ...err].find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

async function token(clientId: string, clientSecret: string): Promise<Response> {
  return fetch(`${running.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
  });
}

/**
 * Holds a projection's checkpoint row locked, as a runner applying a long batch does: it cannot move meanwhile.
 * (The lock gives this transaction an id, so until it ends no reader of the store sees later events either.)
 */
async function holdProjection(name: string): Promise<() => Promise<void>> {
  const trx = await running.app.db.transaction();
  await trx(CHECKPOINTS).insert({ name }).onConflict('name').ignore();
  await trx(CHECKPOINTS).where({ name }).forUpdate().first();
  return async () => {
    await trx.rollback();
  };
}

describe('the CLI while the app runs', () => {
  it('50 times: an API client made on the command line gets a token and an API answer at once', async () => {
    const statuses: number[] = [];
    const apiStatuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const run = cli(['api-client', 'create', '--account', 'default', '--scopes', 'handoffs:read']);
      expect(await run.done, run.err.join('\n')).toBe(0);
      expect(run.err).toEqual([]);
      const { clientId, clientSecret } = JSON.parse(run.out[0]!) as { clientId: string; clientSecret: string };
      const answer = await token(clientId, clientSecret);
      statuses.push(answer.status);
      const { access_token } = (await answer.json()) as { access_token: string };
      const listed = await fetch(`${running.baseUrl}/api/v2/account/default/handoffs`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      apiStatuses.push(listed.status);
    }
    expect(statuses).toEqual(Array(50).fill(200));
    expect(apiStatuses).toEqual(Array(50).fill(200));
  }, 180_000);

  it('the token endpoint does not wait for the api-clients read model, and the CLI says when that is behind', async () => {
    const release = await holdProjection('api-clients');
    try {
      const run = cli(['api-client', 'create', '--account', 'default', '--scopes', 'campaigns:read', '--wait', '0.5']);
      const credentials = await run.line(/clientSecret/);
      expect(await run.line(/not yet shown by api-clients(, [a-z-]+)* after 0\.5 s/)).toMatch(/the app shows it once/);
      // The read model has not seen the client (its projection is held), yet the client gets its token.
      const { clientId, clientSecret } = JSON.parse(credentials) as { clientId: string; clientSecret: string };
      expect(await running.app.db('api_clients').where({ client_id: clientId }).first()).toBeUndefined();
      const answer = await token(clientId, clientSecret);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { scope: string }).scope).toBe('campaigns:read');
      await release();
      expect(await run.done).toBe(0);
    } finally {
      await release().catch(() => {});
    }
  });

  it('a sender added on the command line answers its inbound webhook at once', async () => {
    const { authToken } = await running.app.channels.twilioCredentials();
    const url = `${running.baseUrl}/webhooks/twilio/inbound`;
    for (let i = 0; i < 5; i++) {
      const address = `+1415555${String(7000 + i)}`;
      const run = cli(['sender', 'add', '--account', 'default', '--channel', 'sms', '--address', address]);
      expect(await run.done, run.err.join('\n')).toBe(0);
      expect(run.err).toEqual([]);
      const params = { From: '+14155552671', To: address, Body: 'Hello there', MessageSid: `SMcli${i}` };
      const inbound = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
        },
        body: new URLSearchParams(params),
      });
      expect(inbound.status, await inbound.text()).toBe(200);
    }
  });

  it('does not return before the read models show a sender: held back, it waits its bound and says so', async () => {
    const release = await holdProjection('account-settings');
    try {
      const address = '+14155557999';
      const run = cli([
        'sender',
        'add',
        '--account',
        'default',
        '--channel',
        'sms',
        '--address',
        address,
        '--wait',
        '0.3',
      ]);
      expect(await run.line(/not yet shown by account-settings(, [a-z-]+)* after 0\.3 s/)).toBeTruthy();
      expect(await running.app.db('senders').where({ address }).first()).toBeUndefined();
      await release();
      expect(await run.done).toBe(0);
    } finally {
      await release().catch(() => {});
    }
  });
});
