import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  draftTemplate,
  duplicateTemplate,
  editTemplate,
  pollTemplateApprovals,
  readTemplate,
  submitTemplate,
} from '../../src/app/templates.ts';
import { DomainError } from '../../src/domain/decider.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { apiToken } from '../support/api-client.ts';
import { eventually, projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { sandboxFaults } from '../whatsapp/support.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
const context = { actor: 'test' };
const rich: TemplateContent = {
  name: 'order_photo',
  language: 'en_US',
  category: 'MARKETING',
  header: { type: 'image', sampleUrl: 'https://cdn.example.com/order.png' },
  body: 'Hi {{1}}, your order {{2}} shipped.',
  footer: 'Acme',
  buttons: { type: 'quick-reply', replies: ['Track it', 'Thanks'] },
  samples: { '1': 'Ana', '2': '#1' },
};

const deps = () => ({ ...running.app, templates: running.app.channels.whatsappTemplates });
const faults = (body: Record<string, unknown>) => sandboxFaults(running, body);

async function submitted(content: TemplateContent) {
  const drafted = await draftTemplate(running.app, 'default', content, context);
  const result = await submitTemplate(deps(), 'default', drafted.templateId, context);
  await waitForProjection(running.app.db, 'templates', result.position!);
  return drafted.templateId;
}

beforeAll(async () => {
  running = await startTestApp({ TEMPLATE_POLL_MS: '100' }, { worker: true });
});
afterAll(async () => {
  await running?.close();
});
beforeEach(async () => {
  await fetch(`${running.baseUrl}/sandbox/reset`, { method: 'POST' });
});

describe('template approval through the Content API', () => {
  it('creates the Content and its WhatsApp approval request, and the polling job records the approval', async () => {
    const templateId = await submitted(rich);
    const state = await readTemplate(running.app, templateId);
    expect(state.contentSid).toMatch(/^HX[0-9a-f]{32}$/);
    const content = await running.app.db('sandbox_contents').where({ sid: state.contentSid }).first();
    expect(content).toMatchObject({
      friendly_name: 'order_photo',
      language: 'en_US',
      approval_name: 'order_photo',
      approval_category: 'MARKETING',
      variables: { '1': 'Ana', '2': '#1', '3': 'https://cdn.example.com/order.png' },
      types: {
        'whatsapp/card': {
          body: 'Hi {{1}}, your order {{2}} shipped.',
          footer: 'Acme',
          media: ['{{3}}'],
          actions: [
            { type: 'QUICK_REPLY', title: 'Track it', id: 'Track it' },
            { type: 'QUICK_REPLY', title: 'Thanks', id: 'Thanks' },
          ],
        },
      },
    });
    // The worker's job (TEMPLATE_POLL_MS=100) polls and records the decision, with no call from the test.
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'approved', 'approved');
    await projectionsAtHead(running);
    const row = await running.app.db('templates').where({ template_id: templateId }).first();
    expect(row).toMatchObject({ status: 'approved', rejection_reason: null, kind: 'card' });
  });

  it('applies a rejection with its reason only after templateDecisionDelayMs', async () => {
    expect(
      (
        await faults({
          templateDecision: 'rejected',
          templateRejectionReason: 'INVALID_FORMAT',
          templateDecisionDelayMs: 1500,
        })
      ).status,
    ).toBe(200);
    const started = Date.now();
    const templateId = await submitted({ ...rich, name: 'order_rejected' });
    await pollTemplateApprovals(deps());
    if (Date.now() - started < 1500) expect((await readTemplate(running.app, templateId)).status).toBe('pending');
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'rejected', 'rejected');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(await readTemplate(running.app, templateId)).toMatchObject({ rejectionReason: 'INVALID_FORMAT' });
  });

  it('a template WhatsApp pauses later is recorded paused with the reason', async () => {
    const templateId = await submitted({ ...rich, name: 'order_paused' });
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'approved', 'approved');
    const { contentSid } = await readTemplate(running.app, templateId);
    const paused = await fetch(`${running.baseUrl}/sandbox/templates/${contentSid}/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paused', rejectionReason: 'Low quality rating' }),
    });
    expect(paused.status).toBe(200);
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'paused', 'paused');
    expect((await readTemplate(running.app, templateId)).rejectionReason).toBe('Low quality rating');
  });

  it('an approved template is not edited; its duplicate is a new draft', async () => {
    const templateId = await submitted({ ...rich, name: 'order_fixed' });
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'approved', 'approved');
    await expect(editTemplate(running.app, 'default', templateId, rich, context)).rejects.toMatchObject({
      code: 'TEMPLATE_NOT_EDITABLE',
    });
    await expect(submitTemplate(deps(), 'default', templateId, context)).rejects.toBeInstanceOf(DomainError);
    const copy = await duplicateTemplate(running.app, 'default', templateId, 'order_fixed_v2', context);
    expect(await readTemplate(running.app, copy.templateId)).toMatchObject({
      status: 'draft',
      content: { ...rich, name: 'order_fixed_v2' },
    });
  });

  it('sandbox faults answer the controls in force and refuse bad ones naming the field', async () => {
    const set = await faults({ whatsappUnreachable: ['+14155550111'], readAfterMs: 200 });
    expect(await json(set)).toMatchObject({ whatsappUnreachable: ['+14155550111'], readAfterMs: 200 });
    const bad = await faults({ whatsappNoReceipt: ['4155550111'] });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ code: 'INVALID_FIELD', field: 'whatsappNoReceipt.0' });
    expect(await json(await fetch(`${running.baseUrl}/sandbox/faults`))).toMatchObject({
      templateDecision: 'approved',
      whatsappUnreachable: ['+14155550111'],
    });
  });
});

describe('GET /api/v2/account/:accountId/templates', () => {
  async function token(scopes: string[]) {
    return apiToken(running, scopes);
  }

  it('answers every template with its status, reason and contentSid; scope templates:read', async () => {
    const templateId = await submitted({ ...rich, name: 'api_listed' });
    await eventually(async () => (await readTemplate(running.app, templateId)).status === 'approved', 'approved');
    await projectionsAtHead(running);
    const base = `${running.baseUrl}/api/v2/account/default`;
    const reader = await token(['templates:read']);
    const one = await fetch(`${base}/templates/${templateId}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(one.status).toBe(200);
    const { contentSid } = await readTemplate(running.app, templateId);
    expect(await json(one)).toEqual({
      id: templateId,
      name: 'api_listed',
      language: 'en_US',
      category: 'MARKETING',
      status: 'approved',
      rejectionReason: null,
      contentSid,
    });
    const list = await json(
      await fetch(`${base}/templates?status=approved`, { headers: { authorization: `Bearer ${reader}` } }),
    );
    expect(list.templates.map((t: { id: string }) => t.id)).toContain(templateId);
    expect(list.templates.every((t: { status: string }) => t.status === 'approved')).toBe(true);
    const missing = await fetch(`${base}/templates/nope`, { headers: { authorization: `Bearer ${reader}` } });
    expect(missing.status).toBe(404);
    const other = await token(['handoffs:read']);
    expect((await fetch(`${base}/templates`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(403);
  });
});
