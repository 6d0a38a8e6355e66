import fc from 'fast-check';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftTemplate } from '../../src/app/templates.ts';
import { readyAccount } from '../dispatch/support.ts';
import { committedEvents, projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { listRoutes } from '../support/routes.ts';

/**
 * NUL in the web tool's forms, the Twilio webhooks and the CSV upload: 400 naming the field, nothing written. (The
 * API's bodies, queries and paths are in api/hardening.int.test.ts.) Forms travel as UTF-8, where a lone surrogate
 * cannot exist (an encoder turns it into U+FFFD), so a NUL is the text Postgres would refuse.
 */
let running: TestApp;
let admin: WebSession;

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '0' });
  await readyAccount(running);
  // A template, so that the template list shows its row's forms (submit, duplicate under a name, delete).
  await draftTemplate(
    running.app,
    'default',
    {
      name: 'hostile_row',
      language: 'en',
      category: 'UTILITY',
      header: null,
      body: 'Hello {{1}}, your order has shipped.',
      footer: null,
      buttons: { type: 'none' },
      samples: { '1': 'Ana' },
    },
    { actor: 'test' },
  );
  await projectionsAtHead(running);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

const withNul = fc
  .tuple(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }))
  .map(([before, after]) => `${before}\u0000${after}`);

interface Form {
  page: string;
  action: string;
  fields: string[];
}

/** Every form that posts, on every page an admin can open: its action and the names of its fields. */
async function formsOnPages(): Promise<Form[]> {
  const pages = [
    ...new Set(
      listRoutes(running.http)
        .filter((route) => route.method === 'GET' && !route.path.includes(':') && !route.path.includes('*'))
        .map((route) => route.path)
        .filter((path) => !/^\/(api|oauth|sandbox\/twilio|static|metrics|healthz|readyz|logout)/.test(path)),
    ),
  ];
  const forms: Form[] = [];
  for (const page of pages) {
    const { status, html } = await admin.get(page);
    if (status !== 200) continue;
    for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
      const attributes = match[1]!;
      // A form may post to two places: htmx's hx-post (a live preview) and its own action (the save).
      const actions = [
        /\bhx-post="([^"]+)"/.exec(attributes)?.[1],
        /\bmethod="post"/i.test(attributes) ? (/\baction="([^"]+)"/.exec(attributes)?.[1] ?? page) : undefined,
      ].filter((action): action is string => !!action && !action.startsWith('http'));
      const fields = [...match[2]!.matchAll(/\bname="([^"]+)"/g)].map((name) => name[1]!).filter((n) => n !== '_csrf');
      if (fields.length === 0) continue;
      for (const action of new Set(actions)) {
        forms.push({ page, action: action.replace(/&amp;/g, '&'), fields: [...new Set(fields)] });
      }
    }
  }
  return forms;
}

describe('text Postgres cannot store, outside the API', () => {
  it('every field of every form of the web tool: 400 naming the field, nothing written', async () => {
    const forms = await formsOnPages();
    // Sign-in aside, the settings, users, handoffs, webhook, wizard and event-history pages all post forms.
    expect(forms.length).toBeGreaterThanOrEqual(8);
    // The template builder's save and live preview, and the list's duplicate (its only field is the new name).
    const actions = forms.map((form) => form.action);
    expect(actions).toEqual(expect.arrayContaining(['/templates', '/templates/preview']));
    expect(actions.some((action) => /^\/templates\/[^/]+\/duplicate$/.test(action))).toBe(true);
    const before = await committedEvents(running);
    const problems: string[] = [];
    for (const form of forms) {
      for (const field of form.fields) {
        await admin.get(form.page);
        await fc.check(
          fc.asyncProperty(withNul, async (text) => {
            const answer = await admin.post(form.action, { [field]: text });
            const ok = answer.status === 400 && answer.html.includes(`${field} contains a NUL character`);
            if (!ok) problems.push(`${form.action} ${field}: ${answer.status} ${answer.html.slice(0, 120)}`);
            return ok;
          }),
          { numRuns: 3, endOnFailure: true },
        );
      }
    }
    expect(problems).toEqual([]);
    expect(await committedEvents(running)).toBe(before);
  }, 300_000);

  it('the Twilio webhooks, correctly signed: 400 naming the field, nothing recorded', async () => {
    const { authToken } = await running.app.channels.twilioCredentials();
    const before = await committedEvents(running);
    for (const [path, params] of [
      [
        '/webhooks/twilio/inbound',
        { From: '+14155552671', To: '+14155550100', Body: 'Hi\u0000there', MessageSid: 'SMnul' },
      ],
      ['/webhooks/twilio/status?a=default&m=x.0', { MessageSid: 'SMnul', MessageStatus: 'delivered\u0000' }],
    ] as const) {
      const url = `${running.baseUrl}${path}`;
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
        },
        body: new URLSearchParams(params),
      });
      expect(response.status).toBe(400);
      const field = 'Body' in params ? 'Body' : 'MessageStatus';
      expect(await response.json()).toMatchObject({ code: 'INVALID_TEXT', field });
    }
    expect(await committedEvents(running)).toBe(before);
  });

  it('a CSV upload with a NUL in a row: the preview names the line, and no list is kept', async () => {
    await admin.get('/campaigns/new');
    const csv = 'phone,first_name\n+14155552671,Ann\n+14155552672,B\u0000b\n';
    const form = new FormData();
    form.set('text', 'Hi {{first_name}}');
    form.set('file', new Blob([csv], { type: 'text/csv' }), 'recipients.csv');
    const uploads = await running.app.db('campaign_uploads').count('* as n');
    const response = await fetch(`${running.baseUrl}/campaigns/new/preview`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(), 'x-csrf-token': admin.csrf, accept: 'text/html' },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('file (line 3) contains a NUL character');
    expect(await running.app.db('campaign_uploads').count('* as n')).toEqual(uploads);
    // The same file without the NUL is previewed: the NUL was the only thing refused.
    form.set('file', new Blob([csv.replace('\u0000', '')], { type: 'text/csv' }), 'recipients.csv');
    const clean = await fetch(`${running.baseUrl}/campaigns/new/preview`, {
      method: 'POST',
      headers: { cookie: admin.cookieHeader(), 'x-csrf-token': admin.csrf, accept: 'text/html' },
      body: form,
    });
    expect(clean.status).toBe(200);
  });
});
