import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/app/accounts.ts';
import { loadHandoff } from '../../src/app/handoffs.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { committedEvents, projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { decidedTemplate, faults, imageTemplate, readyWhatsAppAccount, SENDER, textTemplate } from './web-support.ts';

/**
 * Issue 11, item 6 in the web tool: the handoff form's WhatsApp channel (an approved template and a WhatsApp
 * sender) and the prioritized channel (WhatsApp first, then SMS, with its receipt timeout), refused as the API
 * refuses them.
 */
let running: TestApp;
let admin: WebSession;

beforeAll(async () => {
  running = await startTestApp({ TEMPLATE_POLL_MS: '3600000' });
  await readyWhatsAppAccount(running);
  await addUser(
    running.app,
    { accountId: 'default', email: 'viewer@outbound.test', role: 'auditor', password: 'viewer password 1' },
    SYSTEM,
  );
  await projectionsAtHead(running);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

const base = {
  name: 'Order shipped',
  skill: 'Sales',
  lookbackPeriodDay: '30',
  lookbackPeriodHour: '0',
  waOutboundnumber: SENDER,
  outboundnumber: SENDER,
  content: 'Hi ${{1}}, order ${{2}} shipped.',
  optOut: 'Reply STOP to opt out.',
};

async function handoffNamed(name: string) {
  await projectionsAtHead(running);
  const row = await running.app.db('handoffs').where({ account_id: 'default', name }).whereNull('archived_at').first();
  return row ? await loadHandoff(running.app, 'default', row.handoff_id) : null;
}

describe('the handoff form on WhatsApp', () => {
  it('says when no template is approved yet, and links to the template builder', async () => {
    const page = await admin.get('/handoffs/new?channel=wa');
    expect(page.status).toBe(200);
    expect(page.html).toMatch(
      /id="no-approved-template"[\s\S]*No approved WhatsApp template yet[\s\S]*href="\/templates\/new"/,
    );
    expect(page.html).toMatch(/name="channel" value="wa" checked/);
  });

  it('saves a WhatsApp handoff and a prioritized one (timeout 600 unless changed), and edits them back', async () => {
    const { templateId } = await decidedTemplate(running, textTemplate('order_shipped'));
    const form = await admin.get('/handoffs/new');
    expect(form.html).not.toContain('no-approved-template');
    expect(form.html).toContain(`value="${templateId}"`);

    const wa = await admin.post('/handoffs', { ...base, channel: 'wa', templateId });
    expect(wa.status, wa.html).toBe(303);
    expect((await handoffNamed('Order shipped'))!.channels).toEqual([
      { type: 'wa', outboundnumber: SENDER, templateId, messageComponents: [] },
    ]);

    await admin.get('/handoffs/new');
    const prioritized = await admin.post('/handoffs', {
      ...base,
      name: 'Order shipped prioritized',
      channel: 'prioritized',
      templateId,
      fallbackTimeoutSeconds: '600',
    });
    expect(prioritized.status, prioritized.html).toBe(303);
    const config = (await handoffNamed('Order shipped prioritized'))!;
    expect(config.channels).toEqual([
      { type: 'wa', outboundnumber: SENDER, templateId, fallbackTimeoutSeconds: 600, messageComponents: [] },
      {
        type: 'sms-twilio',
        outboundnumber: SENDER,
        messageComponents: [
          { type: 'body', content: 'Hi ${{1}}, order ${{2}} shipped.', optOut: 'Reply STOP to opt out.' },
        ],
      },
    ]);
    const row = await running.app.db('handoffs').where({ name: 'Order shipped prioritized' }).first();
    // The list names the channels in priority order, in words rather than LivePerson's type codes.
    const list = await admin.get('/handoffs');
    expect(list.html).toMatch(/data-handoff="Order shipped prioritized">(?:(?!<\/tr>)[\s\S])*<td>WhatsApp → SMS<\/td>/);
    expect(list.html).not.toContain('sms-twilio');
    const edit = await admin.get(`/handoffs/${row.handoff_id}/edit`);
    expect(edit.html).toMatch(/name="channel" value="prioritized" checked/);
    expect(edit.html).toMatch(new RegExp(`value="${templateId}"[^>]*selected`));
    expect(edit.html).toMatch(/name="fallbackTimeoutSeconds"[^>]*value="600"/);
    // Back to WhatsApp alone: the SMS channel and the timeout go.
    const back = await admin.post(`/handoffs/${row.handoff_id}`, {
      ...base,
      name: 'Order shipped prioritized',
      channel: 'wa',
      templateId,
    });
    expect(back.status).toBe(303);
    expect((await handoffNamed('Order shipped prioritized'))!.channels).toEqual([
      { type: 'wa', outboundnumber: SENDER, templateId, messageComponents: [] },
    ]);
  });

  it('refuses a template that is not approved with TEMPLATE_NOT_APPROVED naming it, inline, nothing written', async () => {
    expect(
      (await faults(running, { templateDecision: 'rejected', templateRejectionReason: 'Too promotional' })).status,
    ).toBe(200);
    const { templateId } = await decidedTemplate(running, textTemplate('promo_rejected'), 'rejected');
    expect((await faults(running, { templateDecision: 'approved' })).status).toBe(200);
    const form = await admin.get('/handoffs/new');
    expect(form.html).toMatch(/Not approved: cannot be used yet[\s\S]*promo_rejected · rejected \(Too promotional\)/);
    const before = await committedEvents(running);
    const refused = await admin.post('/handoffs', { ...base, name: 'Promo', channel: 'wa', templateId });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('data-code="TEMPLATE_NOT_APPROVED"');
    expect(refused.html).toMatch(
      /id="template-error"[^>]*>The WhatsApp template promo_rejected is rejected \(Too promotional\): only an approved template can be used\./,
    );
    expect(refused.html).toMatch(/name="templateId" aria-invalid=true/);
    // What was typed stays.
    expect(refused.html).toMatch(/name="channel" value="wa" checked/);
    expect(refused.html).toContain('value="Promo"');
    expect(await committedEvents(running)).toBe(before);
    expect(await handoffNamed('Promo')).toBeNull();
  });

  it('refuses a rich template on the prioritized channel, saying why; it is fine on WhatsApp alone', async () => {
    const { templateId } = await decidedTemplate(running, imageTemplate('summer_drop'));
    await admin.get('/handoffs/new');
    const before = await committedEvents(running);
    const refused = await admin.post('/handoffs', {
      ...base,
      name: 'Summer',
      channel: 'prioritized',
      templateId,
      content: 'Hi ${{1}}, the summer drop is here.',
      fallbackTimeoutSeconds: '600',
    });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('data-code="RICH_TEMPLATE_NOT_PRIORITIZED"');
    expect(refused.html).toContain(
      'The WhatsApp template summer_drop is rich (media or buttons): the prioritized channel may send SMS instead, so it takes plain-text templates only.',
    );
    expect(await committedEvents(running)).toBe(before);
    const alone = await admin.post('/handoffs', { ...base, name: 'Summer', channel: 'wa', templateId });
    expect(alone.status, alone.html).toBe(303);
  });

  it('refuses a bad timeout and a missing sender naming the field; never a 500', async () => {
    const { templateId } = await decidedTemplate(running, textTemplate('timeout_check'));
    await admin.get('/handoffs/new');
    for (const [fields, name] of [
      [{ fallbackTimeoutSeconds: '0' }, 'fallbackTimeoutSeconds'],
      [{ fallbackTimeoutSeconds: 'soon' }, 'fallbackTimeoutSeconds'],
      [{ waOutboundnumber: '' }, 'waOutboundnumber'],
      [{ waOutboundnumber: '+14155550999' }, 'waOutboundnumber'],
      [{ templateId: '' }, 'templateId'],
    ] as const) {
      const refused = await admin.post('/handoffs', {
        ...base,
        name: 'Bad one',
        channel: 'prioritized',
        templateId,
        fallbackTimeoutSeconds: '600',
        ...fields,
      });
      expect(refused.status, JSON.stringify(fields)).toBeGreaterThanOrEqual(400);
      expect(refused.status, JSON.stringify(fields)).toBeLessThan(500);
      expect(refused.html, JSON.stringify(fields)).toMatch(new RegExp(`name="${name}"[^>]*aria-invalid=true`));
    }
    expect(await handoffNamed('Bad one')).toBeNull();
  });

  it('only the roles that edit handoffs may save a WhatsApp one', async () => {
    const viewer = new WebSession(running.baseUrl);
    expect((await viewer.login('viewer@outbound.test', 'viewer password 1')).status).toBe(303);
    expect((await viewer.get('/handoffs/new')).status).toBe(403);
    await viewer.get('/handoffs');
    const refused = await viewer.post('/handoffs', { ...base, name: 'Viewer', channel: 'wa', templateId: 'x' });
    expect(refused.status).toBe(403);
    expect(await handoffNamed('Viewer')).toBeNull();
  });
});
