import { expect } from 'vitest';
import { createApiClient } from '../../src/app/api-clients.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import type { TestApp } from './app.ts';

/**
 * A bearer token for a new API client of the default account with these scopes, as an integrator gets one: the
 * client is created (and awaited in its read model), then `POST /oauth/token` with client_credentials.
 */
export async function apiToken(running: TestApp, scopes: readonly string[]): Promise<string> {
  return (await apiClientToken(running, { accountId: 'default', name: 'test client', scopes })).accessToken;
}

/** `apiToken` for any account, answering the client's id too. */
export async function apiClientToken(
  running: TestApp,
  options: { accountId: string; name: string; scopes: readonly string[] },
): Promise<{ accessToken: string; clientId: string }> {
  const client = await createApiClient(
    running.app,
    { accountId: options.accountId, name: options.name, scopes: [...options.scopes] },
    { actor: 'system:test' },
  );
  await waitForProjection(running.app.db, 'api-clients', client.position!, { timeoutMs: 5000 });
  const response = await fetch(`${running.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    }),
  });
  expect(response.status).toBe(200);
  const { access_token } = (await response.json()) as { access_token: string };
  return { accessToken: access_token, clientId: client.clientId };
}
