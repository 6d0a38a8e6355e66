import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { addSender, setSendRate } from '../../src/app/account-settings.ts';
import { draftTemplate, pollTemplateApprovals, readTemplate, submitTemplate } from '../../src/app/templates.ts';
import { createWhatsAppCampaign } from '../../src/app/whatsapp-campaigns.ts';
import * as message from '../../src/domain/message.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import type { TestApp } from '../support/app.ts';
import { SYSTEM } from './support.ts';

/** The crash test's worker processes (`ROLE=worker`, the product's own entry point) and its prioritized campaigns. */
const root = path.resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];

export function startWorker(running: TestApp, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ROLE: 'worker',
      DATABASE_URL: running.app.config.DATABASE_URL,
      TWILIO_SANDBOX_URL: `${running.baseUrl}/sandbox/twilio`,
      PUBLIC_URL: running.baseUrl,
      DISPATCH_LEASE_MS: '1500',
      // The lease must outlast a request's timeout (the config refuses a lease shorter than it plus a second).
      TWILIO_TIMEOUT_MS: '500',
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

export function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function killAll(): Promise<void> {
  for (const child of children) await kill(child);
}

export const faults = async (running: TestApp, body: Record<string, unknown>) => {
  const response = await fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
};

export interface Prioritized {
  whatsappSenderId: string;
  smsSenderId: string;
  templateId: string;
}

/** A WhatsApp sender beside the SMS one, no WhatsApp channel rate, an approved plain-text template. */
export async function prioritizedSetup(running: TestApp, smsSenderId: string): Promise<Prioritized> {
  const sender = await addSender(
    running.app,
    { accountId: 'default', channel: 'whatsapp', address: '+14155550100', rate: 0 },
    SYSTEM,
  );
  await setSendRate(running.app, { accountId: 'default', channel: 'whatsapp', rate: 0 }, SYSTEM);
  const deps = { ...running.app, templates: running.app.channels.whatsappTemplates };
  const { templateId } = await draftTemplate(
    running.app,
    'default',
    {
      name: 'crash_update',
      language: 'en',
      category: 'UTILITY',
      header: null,
      body: 'Hello {{1}}, your order has shipped.',
      footer: null,
      buttons: { type: 'none' },
      samples: { '1': 'Ana' },
    },
    SYSTEM,
  );
  const submitted = await submitTemplate(deps, 'default', templateId, SYSTEM);
  await waitForProjection(running.app.db, 'templates', submitted.position!);
  await pollTemplateApprovals(deps);
  expect((await readTemplate(running.app, templateId)).status).toBe('approved');
  return { whatsappSenderId: sender.senderId, smsSenderId, templateId };
}

/** WhatsApp first, SMS as the fallback after `timeoutSeconds` without a delivery receipt. */
export async function prioritizedCampaign(
  running: TestApp,
  route: Prioritized,
  numbers: string[],
  timeoutSeconds: number,
) {
  const created = await createWhatsAppCampaign(
    { ...running.app, personalData: running.app.channels.personalData },
    {
      accountId: 'default',
      name: `Prioritized, ${timeoutSeconds} s`,
      templateId: route.templateId,
      senderId: route.whatsappSenderId,
      fallback: { senderId: route.smsSenderId, text: 'Hi ${{1}}, your order shipped.', timeoutSeconds },
      recipients: numbers.map((phone, n) => ({ phone, variables: { '1': `Name${n}` } })),
      source: 'api',
      consent: true,
      publish: true,
    },
    SYSTEM,
  );
  expect(created.outcomes.filter((outcome) => outcome.error)).toEqual([]);
  return { campaignId: created.campaignId, messageIds: created.outcomes.map((outcome) => outcome.messageId!) };
}

/** What the sandbox holds per number: how many WhatsApp and how many SMS messages. */
export async function receivedPerNumber(running: TestApp) {
  const rows: { to: string }[] = await running.app.db('sandbox_messages').where({ direction: 'outbound-api' });
  const got = new Map<string, { whatsapp: number; sms: number }>();
  for (const row of rows) {
    const number = row.to.replace(/^whatsapp:/, '');
    const entry = got.get(number) ?? { whatsapp: 0, sms: 0 };
    if (row.to.startsWith('whatsapp:')) entry.whatsapp++;
    else entry.sms++;
    got.set(number, entry);
  }
  return (number: string) => got.get(number) ?? { whatsapp: 0, sms: 0 };
}

export async function messageEvents(running: TestApp, messageId: string) {
  return (await running.app.store.read(message.messageStream(messageId))) as unknown as (message.MessageEvent & {
    revision: number;
  })[];
}

/** The types of a message's events after its fallback (empty while it has not fallen back). */
export async function afterFallback(running: TestApp, messageId: string): Promise<string[]> {
  const types = (await messageEvents(running, messageId)).map((event) => event.type);
  const at = types.indexOf('MessageFellBack');
  return at < 0 ? [] : types.slice(at + 1);
}
