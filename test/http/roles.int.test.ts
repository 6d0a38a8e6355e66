import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/app/accounts.ts';
import type { Role } from '../../src/domain/account.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { committedEvents, startTestApp, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { listRoutes } from '../support/routes.ts';

/**
 * F3, enforced by the server: every mutating route of the web tool, walked from the Express route table, refuses
 * each read-only role with 403 and records nothing. The only writes Agents and Agent Managers have are the
 * inbox's (reply, transfer, close).
 */
let running: TestApp;
const sessions = new Map<Role, WebSession>();
const READ_ONLY: Role[] = ['auditor', 'agent', 'agent_manager'];
const INBOX_WRITES = /^\/inbox\/:id\/(reply|transfer|close)$/;
/**
 * Routes outside the web tool's roles: their own authentication (API tokens, Twilio signatures, the In-App
 * window's signed link, /m/:token, which a consumer opens) or none needed.
 */
const OUTSIDE = /^\/(api|oauth|sentinel|webhooks|sandbox|m)(\/|$)|^\/(login|logout)$/;

beforeAll(async () => {
  running = await startTestApp();
  for (const role of READ_ONLY) {
    const email = `${role}@outbound.test`;
    const added = await addUser(
      running.app,
      { accountId: 'default', email, role, password: `${role} password 1` },
      SYSTEM,
    );
    await waitForProjection(running.app.db, 'users', added.position!, { timeoutMs: 5000 });
    const session = new WebSession(running.baseUrl);
    expect((await session.login(email, `${role} password 1`)).status).toBe(303);
    // A page after signing in carries the session's own CSRF token: refusals below are the role's, not the form's.
    expect((await session.get('/onboarding')).status).toBe(200);
    sessions.set(role, session);
  }
});
afterAll(async () => {
  await running?.close();
});

describe('roles on the web tool', () => {
  it('refuses every mutating route to every read-only role (403), except the inbox writes for agents', async () => {
    const mutating = listRoutes(running.http).filter(
      (route) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) && !OUTSIDE.test(route.path),
    );
    expect(mutating.length).toBeGreaterThanOrEqual(10);
    const before = await committedEvents(running);
    const refused: string[] = [];
    for (const route of mutating) {
      const path = route.path.replace(/:\w+/g, '0123456789abcdef0123456789abcdef');
      for (const role of READ_ONLY) {
        if (role !== 'auditor' && INBOX_WRITES.test(route.path)) continue;
        const answer = await sessions.get(role)!.post(path, { text: 'x', name: 'x', url: 'http://example.com' });
        expect(answer.status, `${role} ${route.method} ${route.path}`).toBe(403);
        expect(answer.html, `${role} ${route.method} ${route.path}`).toContain('Your role does not allow this');
        refused.push(`${role} ${route.path}`);
      }
    }
    expect(refused.length).toBeGreaterThanOrEqual(mutating.length * 2);
    expect(await committedEvents(running)).toBe(before);
  });
});

describe('read-only roles see no write controls', () => {
  it('shows them no publish, cancel or edit controls', async () => {
    for (const role of READ_ONLY) {
      const session = sessions.get(role)!;
      const campaigns = await session.get('/campaigns');
      expect(campaigns.status).toBe(200);
      expect(campaigns.html, role).not.toContain('id="new-campaign"');
      expect((await session.get('/campaigns/new')).status, role).toBe(403);
      const settings = await session.get('/settings');
      expect(settings.html, role).not.toContain('id="add-sender"');
      expect(settings.html, role).not.toContain('id="create-client"');
      expect((await session.get('/handoffs')).html, role).not.toContain('id="new-handoff"');
    }
  });
});
