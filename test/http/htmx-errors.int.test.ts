import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/app/accounts.ts';
import { errorHandler } from '../../src/http/errors.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { listRoutes } from '../support/routes.ts';

/**
 * Issue 15 item 4, the server's half: every error an htmx request of the web tool can get is the small
 * `data-htmx-error` alert that public/app.js shows (never a whole page, which would nest a page inside the page,
 * and never nothing). The sweep walks the Express route table, after checking that every htmx endpoint the views
 * use is in it; the browser's half is item 4 in campaign-wizard-files.int.test.ts.
 */
const root = path.resolve(import.meta.dirname, '../..');
const OUTSIDE = /^\/(api|oauth|sentinel|webhooks|sandbox)(\/|$)|^\/(login|logout|healthz|readyz|metrics)$|^\/auth\//;
const BOGUS_ID = '0123456789abcdef0123456789abcdef';
const HTMX = { 'hx-request': 'true' };

let running: TestApp;
let admin: WebSession;
let auditor: WebSession;

beforeAll(async () => {
  running = await startTestApp();
  const added = await addUser(
    running.app,
    { accountId: 'default', email: 'auditor@outbound.test', role: 'auditor', password: 'auditor password 1' },
    SYSTEM,
  );
  await waitForProjection(running.app.db, 'users', added.position!, { timeoutMs: 5000 });
  admin = new WebSession(running.baseUrl);
  auditor = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  expect((await auditor.login('auditor@outbound.test', 'auditor password 1')).status).toBe(303);
  await admin.get('/onboarding');
  await auditor.get('/onboarding');
});
afterAll(async () => {
  await running?.close();
});

/** An error answer an htmx request can show: the alert fragment, readable text, nothing of a page around it. */
function expectAlert(answer: { status: number; html: string }, label: string) {
  expect(answer.status, label).toBeGreaterThanOrEqual(400);
  expect(answer.html, label).toMatch(/<article class="error" role="alert" data-htmx-error>/);
  expect(answer.html, label).not.toMatch(/<html|<body|<main/i);
  const text = answer.html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  expect(text.length, label).toBeGreaterThan(20);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is that there are none
  expect(text, label).not.toMatch(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
}

/** A path as a view writes it: an EJS tag after a slash is an id; one after anything else adds a query. */
const pathOf = (written: string) => written.replace(/(?<=\/)<%=[^%]*%>/g, BOGUS_ID).replace(/<%=[^%]*%>/g, '');

async function viewFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? viewFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
    ),
  );
  return nested.flat().filter((file) => file.endsWith('.ejs'));
}

describe('errors of htmx requests', () => {
  it('the sweep covers every htmx endpoint the views use', async () => {
    const routes = listRoutes(running.http);
    const endpoints = new Set<string>();
    for (const file of await viewFiles(path.join(root, 'views'))) {
      const view = await readFile(file, 'utf8');
      for (const match of view.matchAll(/hx-(get|post|put|patch|delete)="([^"?]+)/g)) {
        endpoints.add(`${match[1]!.toUpperCase()} ${pathOf(match[2]!)}`);
      }
      // Boosted forms are htmx requests too.
      for (const match of view.matchAll(/<form[^>]*action="([^"?]+)"[^>]*hx-boost="true"/g)) {
        endpoints.add(`POST ${pathOf(match[1]!)}`);
      }
    }
    expect(endpoints.size).toBeGreaterThanOrEqual(12);
    const unrouted = [...endpoints].filter((endpoint) => {
      const [method, url] = endpoint.split(' ') as [string, string];
      return !routes.some(
        (route) => route.method === method && new RegExp(`^${route.path.replace(/:\w+/g, '[^/]+')}$`).test(url),
      );
    });
    expect(unrouted).toEqual([]);
  });

  it('answers every refused htmx request of the route table with the alert fragment', async () => {
    const web = listRoutes(running.http).filter((route) => !OUTSIDE.test(route.path));
    const mutating = web.filter((route) => route.method !== 'GET');
    expect(mutating.length).toBeGreaterThanOrEqual(15);
    let checked = 0;
    for (const route of mutating) {
      const url = route.path.replace(/:\w+/g, BOGUS_ID);
      // A request without the session's CSRF token (an expired form) …
      expectAlert(await admin.post(url, {}, { csrf: false, headers: HTMX }), `no CSRF ${route.path}`);
      // … and one from a read-only role.
      expectAlert(await auditor.post(url, { text: 'x' }, { headers: HTMX }), `auditor ${route.path}`);
      checked += 2;
    }
    for (const route of web.filter((r) => r.method === 'GET' && r.path.includes(':'))) {
      const answer = await admin.get(route.path.replace(/:\w+/g, BOGUS_ID), HTMX);
      expectAlert(answer, `GET ${route.path}`);
      checked += 1;
    }
    expectAlert(await admin.get('/no/such/page', HTMX), 'unknown page');
    expect(checked).toBeGreaterThan(30);
  });

  it('sends a signed-out htmx request to the login page instead of swapping it in', async () => {
    const answer = await fetch(`${running.baseUrl}/campaigns/${BOGUS_ID}/progress`, { headers: HTMX });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('hx-redirect')).toBe('/login');
  });

  it('answers a failure on our side with the fragment too, without the internal message', async () => {
    const server = express();
    server.set('view engine', 'ejs');
    server.set('views', path.join(root, 'views'));
    server.get('/boom', () => {
      throw new Error('secret detail of the crash');
    });
    server.use(errorHandler(silentLogger));
    const listening: Server = await new Promise((resolve) => {
      const s = server.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const address = listening.address() as { port: number };
      const answer = await fetch(`http://127.0.0.1:${address.port}/boom`, {
        headers: { ...HTMX, accept: 'text/html' },
      });
      const html = await answer.text();
      expectAlert({ status: answer.status, html }, '500');
      expect(answer.status).toBe(500);
      expect(html).toContain('Something went wrong');
      expect(html).not.toContain('secret detail');
    } finally {
      await new Promise((resolve) => listening.close(resolve));
    }
  });
});
