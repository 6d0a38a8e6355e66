import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftTemplate } from '../../src/app/templates.ts';
import { API_SCOPES } from '../../src/domain/account-settings.ts';
import { readyAccount, SYSTEM } from '../dispatch/support.ts';
import { apiToken } from '../support/api-client.ts';
import { committedEvents, projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/**
 * Hostile text in WhatsApp templates, through the web template builder (form-encoded, as a browser posts it, and
 * JSON, which can carry a lone surrogate) and the API that reads templates: NUL and lone surrogates refused at the
 * door, names outside WhatsApp's alphabet and over-long fields refused by the rule they break, each a 400 naming
 * its field with nothing written. Emoji and right-to-left marks are text: a body holding them is drafted as typed,
 * and counts them as WhatsApp does, one per code point, toward its 1,024.
 */
let running: TestApp;
let admin: WebSession;
let accessToken: string;
let draftId: string;

const valid = {
  name: 'order_update',
  language: 'en_US',
  category: 'UTILITY',
  headerType: 'none',
  body: 'Hello {{1}}, your order has shipped.',
  sample1: 'Ana',
  buttonsType: 'none',
};
const RLM = '\u200f';
const LRM = '\u200e';
const long = 'a'.repeat(10_000);

beforeAll(async () => {
  running = await startTestApp({ API_RATE_LIMIT_TPS: '0' });
  await readyAccount(running);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
  await admin.get('/templates/new');
  draftId = (await draftTemplate(running.app, 'default', { ...content(valid), name: 'to_duplicate' }, SYSTEM))
    .templateId;
  accessToken = await apiToken(running, API_SCOPES);
});
afterAll(async () => {
  await running?.close();
});

function content(form: Record<string, string>) {
  return {
    name: form.name,
    language: form.language,
    category: form.category,
    header: null,
    body: form.body,
    footer: null,
    buttons: { type: 'none' },
    samples: { '1': form.sample1 },
  };
}

/** The builder's answer to a form: its status, and the field the page marks invalid (or the text naming it). */
async function build(fields: Record<string, string>, path = '/templates') {
  const before = await committedEvents(running);
  const answer = await admin.post(path, { ...valid, ...fields });
  const marked = /<(?:input|textarea|select) name="([^"]+)"[^>]*aria-invalid=true/.exec(answer.html)?.[1] ?? null;
  return { ...answer, marked, written: (await committedEvents(running)) - before };
}

/** The builder's form as JSON (htmx-less scripts may post it so): the only way a lone surrogate arrives. */
async function buildJson(fields: Record<string, string>) {
  const before = await committedEvents(running);
  const response = await fetch(`${running.baseUrl}/templates`, {
    method: 'POST',
    headers: {
      cookie: admin.cookieHeader(),
      'x-csrf-token': admin.csrf,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON allows.
    body: JSON.stringify({ ...valid, ...fields }),
    redirect: 'manual',
  });
  const body = await response.text();
  return { status: response.status, body, written: (await committedEvents(running)) - before };
}

describe('hostile text in the template builder', () => {
  it('a NUL in any field: 400 naming the field, nothing written', async () => {
    for (const field of ['name', 'body', 'sample1', 'footer', 'language', 'reply1']) {
      const answer = await build({ [field]: `ab\u0000c` });
      expect(answer.status, field).toBe(400);
      expect(answer.html, field).toContain(`${field} contains a NUL character`);
      expect(answer.written, field).toBe(0);
    }
  });

  it('a lone surrogate in a name or a body (JSON): 400 naming the field, nothing written', async () => {
    for (const [field, text] of [
      ['name', 'order\ud800'],
      ['body', 'Hello {{1}}, \udc00 shipped.'],
      ['sample1', '\ud83d'],
    ] as const) {
      const answer = await buildJson({ [field]: text });
      expect(answer.status, field).toBe(400);
      expect(JSON.parse(answer.body), field).toMatchObject({ code: 'INVALID_TEXT', field });
      expect(answer.written, field).toBe(0);
    }
  });

  it('a name with emoji, RTL marks or 10,000 characters: 400 naming the name, nothing written', async () => {
    for (const name of ['order_😀', `${RLM}order_update`, `order${LRM}_update`, 'Order_Update', long]) {
      const answer = await build({ name });
      expect(answer.status, name.slice(0, 20)).toBe(400);
      expect(answer.marked, name.slice(0, 20)).toBe('name');
      expect(answer.html).toContain('lowercase letters, digits and underscores');
      expect(answer.written).toBe(0);
    }
  });

  it('a body, footer, sample or button of 10,000 characters: 400 naming the field, nothing written', async () => {
    for (const [fields, field, says] of [
      [{ body: `Hello {{1}}, ${long} shipped.` }, 'body', 'at most 1024 characters'],
      [{ footer: long }, 'footer', 'at most 60 characters'],
      [{ sample1: long }, 'sample1', 'at most 2,000 characters'],
      [{ buttonsType: 'quick-reply', reply1: long }, 'reply1', 'at most 25 characters'],
      [
        { buttonsType: 'call-to-action', urlTitle: 'Track', url: `https://example.com/${long}` },
        'url',
        'at most 2,000 characters',
      ],
      [{ language: long }, 'language', 'such as en, en_US'],
    ] as const) {
      const answer = await build(fields);
      expect(answer.status, field).toBe(400);
      expect(answer.marked, field).toBe(field);
      expect(answer.html, field).toContain(says);
      expect(answer.written, field).toBe(0);
    }
  });

  it('emoji and RTL marks in a body are text: drafted as typed', async () => {
    const body = `${RLM}مرحبا {{1}}! 😀👍🏽 Your order 📦 has shipped${LRM}.`;
    const answer = await build({ name: 'emoji_rtl', body, footer: 'Acme 🛒' });
    expect(answer.status, answer.html.slice(0, 300)).toBe(303);
    await projectionsAtHead(running);
    const row = await running.app.db('templates').where({ account_id: 'default', name: 'emoji_rtl' }).first();
    expect(row).toBeTruthy();
    const events = await running.app.store.read(`template-${row.template_id}`);
    expect(events[0]!.data).toMatchObject({ content: { body, footer: 'Acme 🛒' } });
  });

  it('emoji count toward the 1,024 as WhatsApp counts them: one per code point', async () => {
    // 1,024 code points, of which 24 are emoji (48 UTF-16 units): within the limit.
    const at = (points: number) => `Hi {{1}}, ${'😀'.repeat(24)}${'a'.repeat(points - 24 - 11)}.`;
    expect([...at(1024)]).toHaveLength(1024);
    expect((await build({ name: 'at_limit', body: at(1024) })).status).toBe(303);
    const over = await build({ name: 'over_limit', body: at(1025) });
    expect(over.status).toBe(400);
    expect(over.marked).toBe('body');
    expect(over.html).toContain('it has 1025');
    expect(over.written).toBe(0);
  });

  it('the live preview never fails on hostile text: it says the rule, or refuses a NUL naming the field', async () => {
    const hostile: Record<string, string>[] = [
      { name: long },
      { body: long },
      { body: `😀${RLM}`.repeat(5000) },
      { footer: long },
    ];
    for (const fields of hostile) {
      const answer = await build(fields, '/templates/preview');
      expect(answer.status).toBe(200);
      expect(answer.written).toBe(0);
    }
    const nul = await build({ body: 'a\u0000b' }, '/templates/preview');
    expect(nul.status).toBe(400);
    expect(nul.html).toContain('body contains a NUL character');
  });

  it('duplicating under a hostile name: 400 naming the name, nothing written', async () => {
    await admin.get('/templates');
    for (const name of ['copy_😀', `${RLM}copy`, long, 'a\u0000b']) {
      const before = await committedEvents(running);
      const answer = await admin.post(`/templates/${draftId}/duplicate`, { name });
      expect(answer.status, name.slice(0, 20)).toBe(400);
      expect(answer.html, name.slice(0, 20)).toMatch(/name (contains a NUL|may hold lowercase letters)/);
      expect(await committedEvents(running)).toBe(before);
    }
  });
});

describe('any text in the template builder (property)', () => {
  // Any Unicode text a browser can post (emoji, RTL and other marks, astral planes, controls, NUL), short or long.
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1020, maxLength: 1100 }),
  );
  let drafted = 0;

  it('saves it, or answers 400 marking the field it is in; never a 500, never a write on a refusal', async () => {
    for (const field of ['name', 'body', 'footer', 'sample1', 'reply1']) {
      await fc.assert(
        fc.asyncProperty(anyText, async (text) => {
          const name = field === 'name' ? text : `property_${drafted}`;
          const extra: Record<string, string> = field === 'reply1' ? { buttonsType: 'quick-reply' } : {};
          const answer = await build({ ...extra, name, [field]: text });
          if (answer.status === 303) {
            drafted++;
            return answer.written === 1;
          }
          const named = text.includes('\u0000')
            ? answer.html.includes(`${field} contains a NUL character`)
            : answer.marked === field;
          return answer.status === 400 && named && answer.written === 0;
        }),
        { numRuns: 15 },
      );
    }
  }, 300_000);
});

describe('hostile text in the API that reads templates', () => {
  it('a template id with NUL, a lone surrogate, emoji, RTL marks or 10,000 characters: 4xx, never a 500', async () => {
    for (const id of ['a%00b', '%ED%A0%80', encodeURIComponent('😀'), encodeURIComponent(RLM), long]) {
      const response = await fetch(`${running.baseUrl}/api/v2/account/default/templates/${id}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect([400, 404], id.slice(0, 20)).toContain(response.status);
      expect(await response.json()).toHaveProperty('code');
    }
    const filtered = await fetch(`${running.baseUrl}/api/v2/account/default/templates?status=${long}`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(filtered.status).toBeLessThan(500);
  });
});
