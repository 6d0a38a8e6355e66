import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWhatsAppSettings } from '../../src/app/account-settings.ts';
import { createHandoff } from '../../src/app/handoffs.ts';
import { pollTemplateApprovals } from '../../src/app/templates.ts';
import { phone, SYSTEM, waitForCampaign } from '../dispatch/support.ts';
import { projectionsAtHead, startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';
import { decidedTemplate, faults, imageTemplate, readyWhatsAppAccount, SENDER, textTemplate } from './web-support.ts';

/**
 * Issue 11, item 6: the web wizard sends WhatsApp and prioritized campaigns through a handoff; the CSV's columns
 * fill the template's variables ({{1}}… by position after the number) and its header (a column named for its type),
 * each row checked as the API checks a consumer.
 */
let running: TestApp;
let admin: WebSession;
let richHandoff: string;
let prioritizedHandoff: string;
let richSid: string;
let textSid: string;

beforeAll(async () => {
  running = await startTestApp({ TEMPLATE_POLL_MS: '3600000' }, { worker: true });
  await readyWhatsAppAccount(running);
  await setWhatsAppSettings(
    running.app,
    { accountId: 'default', mediaHosts: 'cdn.acme.example', fallbackOptOut: false },
    SYSTEM,
  );
  const rich = await decidedTemplate(running, imageTemplate('summer_drop'));
  const text = await decidedTemplate(running, textTemplate('order_shipped'));
  richSid = rich.contentSid;
  textSid = text.contentSid;
  richHandoff = (
    await createHandoff(
      running.app,
      'default',
      {
        name: 'Summer drop',
        skill: 'Sales',
        channels: [{ type: 'wa', outboundnumber: SENDER, templateId: rich.templateId }],
      },
      SYSTEM,
    )
  ).handoffId;
  prioritizedHandoff = (
    await createHandoff(
      running.app,
      'default',
      {
        name: 'Order shipped',
        skill: 'Sales',
        channels: [
          { type: 'wa', outboundnumber: SENDER, templateId: text.templateId, fallbackTimeoutSeconds: 600 },
          {
            type: 'sms-twilio',
            outboundnumber: SENDER,
            messageComponents: [{ type: 'body', content: 'Hi ${{1}}, order ${{2}} shipped.' }],
          },
        ],
      },
      SYSTEM,
    )
  ).handoffId;
  await projectionsAtHead(running);
  admin = new WebSession(running.baseUrl);
  expect((await admin.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
});
afterAll(async () => {
  await running?.close();
});

/** Parse, as the wizard's form posts it (multipart, with the file). */
async function parse(handoffId: string, csv: string) {
  await admin.get('/campaigns/new');
  const form = new FormData();
  form.set('_csrf', admin.csrf);
  form.set('name', 'Web WhatsApp');
  form.set('handoffId', handoffId);
  form.set('file', new Blob([csv], { type: 'text/csv' }), 'recipients.csv');
  const response = await fetch(`${running.baseUrl}/campaigns/new/preview`, {
    method: 'POST',
    body: form,
    headers: { cookie: admin.cookieHeader() },
  });
  const html = await response.text();
  const rows = [...html.matchAll(/<tr data-row="(\d+)"[\s\S]*?<\/tr>/g)].map((match) => ({
    row: Number(match[1]),
    error: /data-error="([^"]+)"/.exec(match[0])?.[1] ?? null,
    message: /<td class="message">([\s\S]*?)<\/td>/.exec(match[0])?.[1] ?? '',
  }));
  return { status: response.status, html, rows, uploadId: /name="uploadId" value="([^"]+)"/.exec(html)?.[1] };
}

const publish = (fields: Record<string, string>) =>
  admin.post('/campaigns', { name: 'Web WhatsApp', when: 'now', consent: 'on', ...fields });

const campaignIdOf = (location: string | null) => /\/campaigns\/([0-9a-f]{32})/.exec(location ?? '')?.[1];

describe('the wizard on a WhatsApp handoff', () => {
  it('lists the WhatsApp handoffs and shows the chosen template with the CSV columns it takes', async () => {
    const page = await admin.get('/campaigns/new');
    expect(page.html).toContain(`value="${richHandoff}"`);
    expect(page.html).toMatch(/WhatsApp, then SMS · handoff Order shipped/);
    const chosen = await admin.post('/campaigns/new/channel', { name: 'Kept', handoffId: richHandoff });
    expect(chosen.status).toBe(200);
    expect(chosen.html).toContain('value="Kept"');
    expect(chosen.html).toMatch(/id="template-preview"[\s\S]*data-preview-body>Hi Ana, the summer drop is here\./);
    expect(chosen.html).toMatch(/id="whatsapp-columns"[\s\S]*<code>\{\{1\}\}<\/code>[\s\S]*<code>image<\/code>/);
    expect(chosen.html).toContain('From <strong>whatsapp:+14155550100</strong>');
    expect(chosen.html).not.toContain('name="text"');
  });

  it('previews each row as sent with the API’s per-row codes, and publishes the good rows with the exact contentSid and variables', async () => {
    const csv = [
      'phone,image,first_name',
      `${phone(1)},https://cdn.acme.example/a.png,Ana`,
      `${phone(2)},http://cdn.acme.example/b.png,Bo`,
      `${phone(3)},https://evil.example/c.png,Cy`,
      `${phone(4)},https://cdn.acme.example/d.png,`,
      `${phone(5)},,Di`,
      `${phone(6)},https://CDN.acme.example/e.png,Ed`,
    ].join('\n');
    const preview = await parse(richHandoff, csv);
    expect(preview.status, preview.html).toBe(200);
    expect(preview.rows.map((row) => [row.row, row.error])).toEqual([
      [2, null],
      [3, 'HEADER_VARIABLE_INVALID_URL'],
      [4, 'IMAGE_URL_NOT_WHITELISTED'],
      [5, 'MISSING_VARIABLE=1'],
      [6, 'INSUFFICIENT_HEADER_VARIABLES'],
      [7, null],
    ]);
    expect(preview.rows[0]!.message).toBe(
      '[image] https://cdn.acme.example/a.png\nHi Ana, the summer drop is here.\nAcme',
    );
    expect(preview.html).toContain('not on the account’s media hosts');
    // The first accepted row as the consumer will see it: its image, its body, the buttons.
    expect(preview.html).toMatch(
      /id="row-bubble"[\s\S]*src="https:\/\/cdn.acme.example\/a.png"[\s\S]*Hi Ana, the summer drop is here\./,
    );
    expect(preview.html).toMatch(/data-preview-button="reply"[^>]*>Not now/);

    const published = await publish({ handoffId: richHandoff, uploadId: preview.uploadId! });
    expect(published.status, published.html).toBe(303);
    const campaignId = campaignIdOf(published.location)!;
    await waitForCampaign(running, campaignId);
    const sent = await running.app.db('sandbox_messages').where({ direction: 'outbound-api', content_sid: richSid });
    expect(sent.map((row) => [row.from, row.to, JSON.parse(row.content_variables)]).sort()).toEqual([
      [`whatsapp:${SENDER}`, `whatsapp:${phone(1)}`, { '1': 'Ana', '2': 'https://cdn.acme.example/a.png' }],
      [`whatsapp:${SENDER}`, `whatsapp:${phone(6)}`, { '1': 'Ed', '2': 'https://CDN.acme.example/e.png' }],
    ]);
    const campaign = await running.app.db('campaigns').where({ campaign_id: campaignId }).first();
    expect(campaign).toMatchObject({ channel: 'whatsapp', handoff_id: richHandoff });
    const page = await admin.get(`/campaigns/${campaignId}`);
    expect(page.html).toContain('Hi Ana, the summer drop is here.');
  });

  it('publishes a prioritized campaign: WhatsApp with the template’s variables, SMS for a number not on WhatsApp', async () => {
    const unreachable = phone(12);
    expect((await faults(running, { whatsappUnreachable: [unreachable], callbackDelayMs: 20 })).status).toBe(200);
    const csv = ['phone,name,order', `${phone(11)},Ana,A-1`, `${unreachable},Bo,B-2`, `${phone(13)},Cy,`].join('\n');
    const preview = await parse(prioritizedHandoff, csv);
    expect(preview.status, preview.html).toBe(200);
    expect(preview.rows.map((row) => [row.row, row.error])).toEqual([
      [2, null],
      [3, null],
      [4, 'MISSING_VARIABLE=2'],
    ]);
    expect(preview.rows[0]!.message).toBe(
      'Hello Ana, your order A-1 has shipped.\nSMS if WhatsApp cannot deliver: Hi Ana, order A-1 shipped.',
    );
    const published = await publish({ handoffId: prioritizedHandoff, uploadId: preview.uploadId! });
    expect(published.status, published.html).toBe(303);
    await waitForCampaign(running, campaignIdOf(published.location)!);
    const rows = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' });
    const to = (address: string) => rows.filter((row) => row.to === address);
    expect(to(`whatsapp:${phone(11)}`).map((row) => [row.content_sid, JSON.parse(row.content_variables)])).toEqual([
      [textSid, { '1': 'Ana', '2': 'A-1' }],
    ]);
    expect(to(phone(11))).toEqual([]);
    expect(to(`whatsapp:${unreachable}`)).toEqual([]);
    // The fallback SMS carries no opt-out line: the account did not turn it on.
    expect(to(unreachable).map((row) => row.body)).toEqual(['Hi Bo, order B-2 shipped.']);
  });

  it('refuses a publish without consent or after the channel changed, keeping the choice and the parsed list', async () => {
    const preview = await parse(prioritizedHandoff, `phone,name,order\n${phone(21)},Ana,A-1\n`);
    const refused = await publish({ handoffId: prioritizedHandoff, uploadId: preview.uploadId!, consent: '' });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('data-code="CONSENT_REQUIRED"');
    expect(refused.html).toMatch(new RegExp(`value="${prioritizedHandoff}"[^>]*selected`));
    expect(refused.html).toContain(`name="uploadId" value="${preview.uploadId}"`);
    const changed = await publish({ handoffId: richHandoff, uploadId: preview.uploadId! });
    expect(changed.status).toBe(422);
    expect(changed.html).toContain('data-code="PREVIEW_OUTDATED"');
    const sms = await publish({ uploadId: preview.uploadId!, senderId: 'x', text: 'Hi' });
    expect(sms.html).toContain('data-code="PREVIEW_OUTDATED"');
  });

  it('refuses a handoff whose template was paused since, naming the template, at the channel, the parse and the publish', async () => {
    const paused = await decidedTemplate(running, textTemplate('paused_later'));
    const { handoffId } = await createHandoff(
      running.app,
      'default',
      { name: 'Paused later', channels: [{ type: 'wa', outboundnumber: SENDER, templateId: paused.templateId }] },
      SYSTEM,
    );
    await projectionsAtHead(running);
    const preview = await parse(handoffId, `phone,name,order\n${phone(31)},Ana,A-1\n`);
    expect(preview.status).toBe(200);
    const approval = await fetch(`${running.baseUrl}/sandbox/templates/${paused.contentSid}/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paused', rejectionReason: 'Low quality' }),
    });
    expect(approval.status).toBe(200);
    const deps = { ...running.app, templates: running.app.channels.whatsappTemplates };
    await pollTemplateApprovals(deps);
    const said = 'The WhatsApp template paused_later is paused (Low quality): only an approved template can be used.';
    const chosen = await admin.post('/campaigns/new/channel', { handoffId });
    expect(chosen.html).toMatch(/id="whatsapp-problem"/);
    expect(chosen.html).toContain(said);
    expect((await parse(handoffId, `phone,name,order\n${phone(32)},Bo,B-2\n`)).html).toContain(said);
    const refused = await publish({ handoffId, uploadId: preview.uploadId! });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('data-code="TEMPLATE_NOT_APPROVED"');
    expect(refused.html).toContain(said);
    expect(await running.app.db('campaigns').where({ handoff_id: handoffId })).toEqual([]);
  });
});
