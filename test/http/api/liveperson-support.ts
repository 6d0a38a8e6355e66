import { SignJWT } from 'jose';
import { expect } from 'vitest';
import { addSkill } from '../../../src/app/account-settings.ts';
import { createApiClient } from '../../../src/app/api-clients.ts';
import { API_SCOPES } from '../../../src/domain/account-settings.ts';
import { waitForProjection } from '../../../src/projections/wait.ts';
import { readyAccount, SYSTEM } from '../../dispatch/support.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
export const json = (response: Response): Promise<any> => response.json();

/** Our sender, in LivePerson's form (digits with the country code, no `+`). */
export const OUTBOUND_NUMBER = '14155550100';

export interface LivePersonBrand {
  running: TestApp;
  clientId: string;
  clientSecret: string;
  /** A token from the Sentinel path. */
  token: string;
  /** GET/POST on this host with the token. */
  call(path: string, init?: RequestInit, token?: string): Promise<Response>;
  /** An SMS handoff through our own API; its id is the campaign's templateId. */
  handoff(name: string, content: string, variables: string[]): Promise<string>;
}

export async function sentinelToken(baseUrl: string, clientId: string, clientSecret: string, accountId = 'default') {
  return fetch(`${baseUrl}/sentinel/api/account/${accountId}/app/token?v=1.0&grant_type=client_credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, client_secret: clientSecret }),
  });
}

/**
 * A brand as LivePerson onboards it: Proactive on, an SMS number, the skill `sales`, an API client (its app id
 * and secret) and a token from Sentinel.
 */
export async function startBrand(env: Record<string, string> = {}): Promise<LivePersonBrand> {
  const running = await startTestApp({ API_RATE_LIMIT_TPS: '1000', ...env }, { worker: true });
  await readyAccount(running);
  await addSkill(running.app, { accountId: 'default', name: 'sales' }, SYSTEM);
  const client = await createApiClient(
    running.app,
    { accountId: 'default', name: 'liveperson', scopes: [...API_SCOPES] },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  const issued = await sentinelToken(running.baseUrl, client.clientId, client.clientSecret);
  expect(issued.status).toBe(200);
  const token = (await json(issued)).access_token as string;
  const call = (path: string, init: RequestInit = {}, override?: string) =>
    fetch(`${running.baseUrl}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${override ?? token}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
  return {
    running,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    token,
    call,
    async handoff(name, content, variables) {
      const response = await call('/api/v2/account/default/handoffs', {
        method: 'POST',
        body: JSON.stringify({
          name,
          skill: 'sales',
          channels: [
            {
              type: 'sms-twilio',
              outboundnumber: `+${OUTBOUND_NUMBER}`,
              messageComponents: [{ type: 'body', content, variables }],
            },
          ],
        }),
      });
      expect(response.status).toBe(201);
      return (await json(response)).id as string;
    },
  };
}

/** A token of this deployment's signing key that expired a minute ago, as a client would hold after an hour. */
export async function expiredToken(running: TestApp, clientId: string): Promise<string> {
  const key = await running.app.db('oauth_signing_keys').where({ kid: 'k1' }).first('secret');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ account: 'default', scope: API_SCOPES.join(' ') })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setSubject(clientId)
    .setIssuer('outbound')
    .setAudience('outbound-api')
    .setIssuedAt(now - 3660)
    .setExpirationTime(now - 60)
    .sign(new Uint8Array(key.secret as Buffer));
}

/** A distinct valid US number per index, in LivePerson's digits-only form. */
export const lpPhone = (index: number) => `1415${String(3010000 + index).padStart(7, '0')}`;

/** Polls the conversations API until the campaign is FINISHED (or the deadline passes). */
export async function untilFinished(brand: LivePersonBrand, campaignId: string, timeoutMs = 60_000) {
  // biome-ignore lint/suspicious/noExplicitAny: the JSON answer.
  let body: any = null;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    body = await json(await brand.call(`/api/v2/account/default/campaign/${campaignId}/conversations`));
    if (body.campaignStatus === 'FINISHED') return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return body;
}
