import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSender, addSkill, setWhatsAppSettings } from '../../src/app/account-settings.ts';
import { draftTemplate, pollTemplateApprovals, submitTemplate } from '../../src/app/templates.ts';
import { API_SCOPES } from '../../src/domain/account-settings.ts';
import type { TemplateContent } from '../../src/domain/template-content.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { apiToken } from '../support/api-client.ts';
import { eventually, projectionsAtHead, startTestApp, type TestApp } from '../support/app.ts';
import { decidedTemplate, SENDER, sandboxFaults } from '../whatsapp/support.ts';
import { phone, readyAccount, SYSTEM, waitForCampaign } from './support.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
const json = (response: Response): Promise<any> => response.json();

let running: TestApp;
let accessToken: string;
let base: string;
const VIDEO = 'https://file-examples-com.github.io/uploads/2017/04/file_example_MP4_640_3MG.mp4';

const videoTemplate: TemplateContent = {
  name: 'spring_sale',
  language: 'en_US',
  category: 'MARKETING',
  header: { type: 'video', sampleUrl: 'https://file-examples-com.github.io/sample.mp4' },
  body: 'Hi {{1}}, {{2}} is on sale: {{3}} off {{4}} until {{5}} only.',
  footer: 'Acme Stores',
  buttons: { type: 'quick-reply', replies: ['Show me', 'Not now'] },
  samples: { '1': 'Ana', '2': 'Everything', '3': '20%', '4': 'shoes', '5': 'Sunday' },
};

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const faults = (body: Record<string, unknown>) => sandboxFaults(running, body);

const approvedTemplate = (content: TemplateContent) => decidedTemplate(running, content);

async function waHandoff(name: string, templateId: string, sender = SENDER) {
  const response = await post('/handoffs', {
    name,
    skill: 'Sales',
    channels: [{ type: 'wa', outboundnumber: sender, templateId, messageComponents: [] }],
  });
  return { status: response.status, body: await json(response) };
}

beforeAll(async () => {
  // One dispatch worker: each message is decided just before its send, so a pause is seen by the next one.
  running = await startTestApp(
    { API_RATE_LIMIT_TPS: '1000', TEMPLATE_POLL_MS: '3600000', DISPATCH_CONCURRENCY: '1' },
    { worker: true },
  );
  base = `${running.baseUrl}/api/v2/account/default`;
  await readyAccount(running);
  await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: SENDER, rate: 0 }, SYSTEM);
  await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  accessToken = await apiToken(running, API_SCOPES);
});
afterAll(async () => {
  await running?.close();
});

describe('a rich WhatsApp campaign through the API', () => {
  it('sends each recipient the exact contentSid and variables, and counts read receipts', async () => {
    expect((await faults({ readAfterMs: 50, callbackDelayMs: 20 })).status).toBe(200);
    const { templateId, contentSid } = await approvedTemplate(videoTemplate);
    const handoff = await waHandoff('Spring sale', templateId);
    expect(handoff.status).toBe(201);
    const numbers = [phone(1), phone(2), phone(3)];
    const digits = (number: string) => number.slice(1);
    const variables = (n: number) => ({ '1': `Name${n}`, '2': 'Shoes', '3': '20%', '4': 'sneakers', '5': 'May 1' });
    // LivePerson's example: the second consumer lacks variable 5.
    const response = await post('/campaign', {
      campaignName: 'TestProactiveAPI',
      skill: 'sales',
      templateId: handoff.body.id,
      outboundNumber: digits(SENDER),
      consent: true,
      consumers: [
        { consumerContent: { wa: digits(numbers[0]!) }, variables: variables(0), headerVariables: { video: VIDEO } },
        {
          consumerContent: { wa: digits(phone(9)) },
          variables: { '1': 'Test1', '2': 'Test2', '3': 'Test3', '4': 'Test4' },
          headerVariables: { video: VIDEO },
        },
        { consumerContent: { wa: digits(numbers[1]!) }, variables: variables(1), headerVariables: { video: VIDEO } },
        { consumerContent: { wa: digits(numbers[2]!) }, variables: variables(2), headerVariables: { video: VIDEO } },
        { consumerContent: { wa: digits(phone(10)) }, variables: variables(3), headerVariables: { image: VIDEO } },
        { consumerContent: { wa: digits(phone(11)) }, variables: variables(4) },
        {
          consumerContent: { wa: digits(phone(12)) },
          variables: variables(5),
          headerVariables: { video: VIDEO, image: VIDEO },
        },
        { consumerContent: { wa: digits(phone(13)) }, variables: variables(6), headerVariables: { video: 42 } },
        {
          consumerContent: { wa: digits(phone(14)) },
          variables: variables(7),
          headerVariables: { video: 'ftp://x/y.mp4' },
        },
        { consumerContent: { sms: digits(phone(15)) }, variables: variables(8), headerVariables: { video: VIDEO } },
      ],
    });
    const created = await json(response);
    expect(response.status, JSON.stringify(created)).toBe(201);
    expect(created.acceptedConsumers).toEqual(
      numbers.map((number) => ({
        id: expect.any(String),
        phoneNumber: number,
        consumerContent: { wa: digits(number) },
      })),
    );
    expect(created.failedConsumers).toEqual([
      {
        consumerContent: { wa: digits(phone(9)) },
        variables: { '1': 'Test1', '2': 'Test2', '3': 'Test3', '4': 'Test4' },
        headerVariables: { video: VIDEO },
        phone: phone(9),
        countryCode: 'US',
        errorMessage: 'MISSING_VARIABLE=5',
      },
      ...[
        [10, 'MISSING_HEADER_VARIABLE=video'],
        [11, 'INSUFFICIENT_HEADER_VARIABLES'],
        [12, 'TOO_MANY_HEADER_VARIABLES'],
        [13, 'HEADER_VARIABLE_NOT_STRING'],
        [14, 'HEADER_VARIABLE_INVALID_URL'],
      ].map(([n, code]) => expect.objectContaining({ phone: phone(n as number), errorMessage: code })),
      expect.objectContaining({ errorMessage: 'MISSING_CONSUMER_INFORMATION=WA' }),
    ]);

    await waitForCampaign(running, created.proactiveCampaignId);
    const sent = await running.app.db('sandbox_messages').where({ direction: 'outbound-api', content_sid: contentSid });
    expect(sent).toHaveLength(3);
    for (const [n, number] of numbers.entries()) {
      const row = sent.find((message) => message.to === `whatsapp:${number}`);
      expect(row).toMatchObject({ from: `whatsapp:${SENDER}`, content_sid: contentSid });
      expect(JSON.parse(row.content_variables)).toEqual({ ...variables(n), '6': VIDEO });
      expect(row.body).toContain(`Hi Name${n}, Shoes is on sale: 20% off sneakers until May 1 only.`);
    }
    // The sandbox's Messages list (Twilio's API, read with the real SDK) shows them with whatsapp: addresses.
    const client = await running.app.channels.providers.whatsapp!.findSentSince({
      from: SENDER,
      to: numbers[0]!,
      since: new Date(Date.now() - 60_000),
    });
    expect(client).toBe(sent.find((message) => message.to === `whatsapp:${numbers[0]}`)!.sid);

    await eventually(async () => {
      const rows = await running.app
        .db('campaign_messages')
        .where({ account_id: 'default', campaign_id: created.proactiveCampaignId, status: 'read' });
      return rows.length === 3;
    }, 'every message read');
    await projectionsAtHead(running);
    const status = await json(
      await fetch(`${base}/campaign/${created.proactiveCampaignId}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      }),
    );
    expect(status.counts).toEqual({ READ: 3 });
  });

  it('refuses header media from a host off the allow-list', async () => {
    await setWhatsAppSettings(
      running.app,
      { accountId: 'default', mediaHosts: 'cdn.acme.example', fallbackOptOut: false },
      SYSTEM,
    );
    const { templateId } = await approvedTemplate({ ...videoTemplate, name: 'spring_sale_hosts' });
    const handoff = await waHandoff('Spring hosts', templateId);
    const response = await post('/campaign', {
      campaignName: 'Hosts',
      skill: 'Sales',
      templateId: handoff.body.id,
      consent: true,
      consumers: [
        {
          consumerContent: { wa: phone(20).slice(1) },
          variables: { '1': 'a', '2': 'b', '3': 'c', '4': 'd', '5': 'e' },
          headerVariables: { video: VIDEO },
        },
        {
          consumerContent: { wa: phone(21).slice(1) },
          variables: { '1': 'a', '2': 'b', '3': 'c', '4': 'd', '5': 'e' },
          headerVariables: { video: 'https://cdn.acme.example/v.mp4' },
        },
      ],
    });
    const body = await json(response);
    expect(body.failedConsumers).toEqual([expect.objectContaining({ errorMessage: 'IMAGE_URL_NOT_WHITELISTED' })]);
    expect(body.acceptedConsumers).toHaveLength(1);
    await setWhatsAppSettings(running.app, { accountId: 'default', mediaHosts: [], fallbackOptOut: false }, SYSTEM);
    await waitForCampaign(running, body.proactiveCampaignId);
  });
});

describe('templates that are not approved', () => {
  it('a rejected template is refused at the handoff with TEMPLATE_NOT_APPROVED and its reason', async () => {
    await faults({ templateDecision: 'rejected', templateRejectionReason: 'INVALID_FORMAT' });
    const deps = { ...running.app, templates: running.app.channels.whatsappTemplates };
    const { templateId } = await draftTemplate(
      running.app,
      'default',
      { ...videoTemplate, name: 'rejected_one' },
      SYSTEM,
    );
    const submitted = await submitTemplate(deps, 'default', templateId, SYSTEM);
    await waitForProjection(running.app.db, 'templates', submitted.position!);
    await pollTemplateApprovals(deps);
    await faults({ templateDecision: 'approved' });
    const refused = await waHandoff('Rejected', templateId);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'TEMPLATE_NOT_APPROVED' });
    expect(refused.body.message).toContain('rejected_one is rejected (INVALID_FORMAT)');
  });

  it('a rich template is refused on the prioritized channel, saying why', async () => {
    const { templateId } = await approvedTemplate({ ...videoTemplate, name: 'rich_prioritized' });
    const response = await post('/handoffs', {
      name: 'Prioritized rich',
      skill: 'Sales',
      channels: [
        { type: 'wa', outboundnumber: SENDER, templateId, messageComponents: [] },
        {
          type: 'sms-twilio',
          outboundnumber: SENDER,
          messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'] }],
        },
      ],
    });
    expect(response.status).toBe(422);
    const body = await json(response);
    expect(body.code).toBe('RICH_TEMPLATE_NOT_PRIORITIZED');
    expect(body.message).toMatch(/plain-text templates only/);
  });

  it('a template paused after the campaign started stops its unsent messages with the reason', async () => {
    const { templateId, contentSid } = await approvedTemplate({ ...videoTemplate, name: 'paused_later' });
    // A sender of one message a second, so that most are still unsent when WhatsApp pauses the template.
    const slow = '+14155550199';
    await addSender(running.app, { accountId: 'default', channel: 'whatsapp', address: slow, rate: 1 }, SYSTEM);
    const handoff = await waHandoff('Paused later', templateId, slow);
    const response = await post('/campaign', {
      campaignName: 'Paused',
      skill: 'Sales',
      templateId: handoff.body.id,
      consent: true,
      consumers: [30, 31, 32, 33, 34, 35].map((n) => ({
        consumerContent: { wa: phone(n).slice(1) },
        variables: { '1': 'a', '2': 'b', '3': 'c', '4': 'd', '5': 'e' },
        headerVariables: { video: VIDEO },
      })),
    });
    const { proactiveCampaignId } = await json(response);
    await eventually(
      async () => (await running.app.db('sandbox_messages').where({ content_sid: contentSid })).length >= 1,
      'a first message sent',
    );
    await fetch(`${running.baseUrl}/sandbox/templates/${contentSid}/approval`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paused', rejectionReason: 'Low quality rating' }),
    });
    await pollTemplateApprovals({ ...running.app, templates: running.app.channels.whatsappTemplates });
    await waitForCampaign(running, proactiveCampaignId);
    const rows = await running.app
      .db('campaign_messages')
      .where({ account_id: 'default', campaign_id: proactiveCampaignId });
    const failed = rows.filter((row) => row.status === 'failed');
    const sentCount = (await running.app.db('sandbox_messages').where({ content_sid: contentSid })).length;
    expect(failed.length).toBeGreaterThan(0);
    expect(sentCount + failed.length).toBe(6);
    // Those decided after the pause was seen are stopped by us, with the reason; one already past the decision
    // (waiting for the sender's rate) is refused by the provider itself (63027), never sent.
    const stopped = failed.filter((row) => row.error_code === 'TEMPLATE_NOT_APPROVED');
    expect(stopped.length).toBeGreaterThan(0);
    for (const row of stopped) expect(row.error_message).toContain('paused_later is paused: Low quality rating');
    for (const row of failed) expect(['TEMPLATE_NOT_APPROVED', '63027']).toContain(row.error_code);
    // A new campaign on that handoff is refused the same way.
    const again = await post('/campaign', {
      campaignName: 'Again',
      skill: 'Sales',
      templateId: handoff.body.id,
      consent: true,
      consumers: [{ consumerContent: { wa: phone(40).slice(1) }, variables: { '1': 'a' } }],
    });
    expect(again.status).toBe(422);
    expect(await json(again)).toMatchObject({ code: 'TEMPLATE_NOT_APPROVED' });
  });
});
