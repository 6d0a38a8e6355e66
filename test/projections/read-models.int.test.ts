import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projections } from '../../projections/index.ts';
import { addSkill, removeSender } from '../../src/app/account-settings.ts';
import { addUser, changeRole, removeUser } from '../../src/app/accounts.ts';
import { createApiClient, revokeApiClient } from '../../src/app/api-clients.ts';
import { cancelCampaign } from '../../src/app/campaigns.ts';
import { createHandoff } from '../../src/app/handoffs.ts';
import { registerDevice, registerInAppApp, removeDevice } from '../../src/app/inapp.ts';
import { removeStatusWebhook, setStatusWebhook } from '../../src/app/status-webhooks.ts';
import {
  deleteTemplate,
  draftTemplate,
  duplicateTemplate,
  pollTemplateApprovals,
  submitTemplate,
} from '../../src/app/templates.ts';
import { statusWebhookReactor } from '../../src/dispatch/webhooks.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { createDb, type Db, migrateLatest } from '../../src/infra/db.ts';
import type { Projection } from '../../src/projections/types.ts';
import { phone, readyAccount, SYSTEM, sendCampaign, waitForCampaign } from '../dispatch/support.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { applyOnce, applyTwice, tableRows } from '../support/projections.ts';

/**
 * Every read model, fed a real history (what the product wrote while an account was set up, a campaign went out,
 * consumers replied and opted out, settings changed), once and then with every event delivered twice: the rows
 * must be the same at every point (CONVENTIONS: projections are idempotent).
 */
const readModels: Projection[] = [...projections, statusWebhookReactor()];
let running: TestApp;
const history: RecordedEvent[] = [];
let once: { database: TestDatabase; db: Db };
let twice: { database: TestDatabase; db: Db };

async function reply(from: string, body: string) {
  const response = await fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to: '+14155550100', body }),
  });
  expect(response.status).toBe(201);
}

const templateContent = {
  name: 'welcome',
  language: 'en',
  category: 'UTILITY',
  header: null,
  body: 'Hello {{1}}, welcome.',
  footer: null,
  buttons: { type: 'none' as const },
  samples: { '1': 'Ana' },
};

async function freshDatabase() {
  const database = await createTestDatabase('readmodels');
  const db = createDb(database.url);
  await migrateLatest(db);
  // Migrations may seed rows from other tables; each side starts from empty read models.
  for (const table of readModels.flatMap((projection) => projection.tables)) await db(table).delete();
  return { database, db };
}

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  const { senderId } = await readyAccount(running);
  const app = running.app;
  await addSkill(app, { accountId: 'default', name: 'Sales' }, SYSTEM);
  const user = await addUser(
    app,
    { accountId: 'default', email: 'ann@outbound.test', role: 'agent', password: 'a long enough password' },
    SYSTEM,
  );
  await changeRole(app, { accountId: 'default', userId: user.userId, role: 'agent_manager' }, SYSTEM);
  const client = await createApiClient(app, { accountId: 'default', name: 'crm', scopes: ['campaigns:read'] }, SYSTEM);
  await createHandoff(
    app,
    'default',
    {
      name: 'Welcome',
      skill: 'Sales',
      lookbackPeriodDay: 7,
      lookbackPeriodHour: 0,
      routeAllWithinLookback: false,
      channels: [
        {
          type: 'sms-twilio',
          language: 'en-US',
          outboundnumber: '+14155550100',
          messageComponents: [{ type: 'body', content: 'Hi ${{1}}', variables: ['1'], optOut: 'Reply STOP.' }],
        },
      ],
    },
    SYSTEM,
  );
  const templates = { ...app, templates: app.channels.whatsappTemplates };
  const waTemplate = await draftTemplate(app, 'default', templateContent, SYSTEM);
  await submitTemplate(templates, 'default', waTemplate.templateId, SYSTEM);
  await pollTemplateApprovals(templates);
  const dropped = await duplicateTemplate(app, 'default', waTemplate.templateId, 'welcome_copy', SYSTEM);
  await deleteTemplate(app, 'default', dropped.templateId, SYSTEM);
  await setStatusWebhook(app, { accountId: 'default', url: 'http://127.0.0.1:9/hooks' }, SYSTEM);
  await fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ failNumbers: { [phone(9002)]: 21211 } }),
  });
  const numbers = [phone(9000), phone(9001), phone(9002), phone(9003), phone(9003)];
  const first = await sendCampaign(
    running,
    senderId,
    numbers.map((to) => ({ phone: to })),
  );
  await waitForCampaign(running, first.campaignId);
  await reply(phone(9000), 'Is it ready?');
  await reply(phone(9001), 'STOP');
  await reply(phone(9001), 'START');
  await removeStatusWebhook(app, { accountId: 'default' }, SYSTEM);
  const scheduled = await sendCampaign(running, senderId, [{ phone: phone(9004) }], 'Later', {
    sendAt: new Date(Date.now() + 86_400_000),
  });
  await cancelCampaign(
    app,
    { accountId: 'default', campaignId: scheduled.campaignId, cancelledBy: 'test', reason: 'test' },
    SYSTEM,
  );
  await revokeApiClient(app, { accountId: 'default', clientId: client.clientId }, SYSTEM);
  await removeUser(app, { accountId: 'default', userId: user.userId }, SYSTEM);
  await removeSender(app, { accountId: 'default', senderId }, SYSTEM);
  // F6: devices registered, one removed again.
  await registerInAppApp(
    app,
    {
      accountId: 'default',
      appId: 'com.example.app',
      platform: 'ios',
      provider: 'push-proxy',
      proxyUrl: 'http://127.0.0.1:9/push',
    },
    SYSTEM,
  );
  const deviceDeps = { ...app, personalData: app.channels.personalData };
  const registration = (pushToken: string) => ({ appId: 'com.example.app', platform: 'ios', pushToken });
  await registerDevice(
    deviceDeps,
    { accountId: 'default', consumerId: 'kept', registration: registration('t1') },
    SYSTEM,
  );
  const gone = await registerDevice(
    deviceDeps,
    { accountId: 'default', consumerId: 'gone', registration: registration('t2') },
    SYSTEM,
  );
  await removeDevice(
    deviceDeps,
    { accountId: 'default', consumerRef: gone.consumerRef, deviceId: gone.deviceId, reason: 'logout' },
    SYSTEM,
  );

  for (let from = null as RecordedEvent['position'] | null; ; ) {
    const batch = await app.store.readAll(from, 500);
    if (batch.length === 0) break;
    history.push(...batch);
    from = batch[batch.length - 1]!.position;
  }
  [once, twice] = await Promise.all([freshDatabase(), freshDatabase()]);
}, 180_000);

afterAll(async () => {
  for (const side of [once, twice]) {
    await side?.db.destroy();
    await side?.database.drop();
  }
  await running?.close();
});

describe('every read model, fed each event once and twice', () => {
  it('has a history that touches every read model', () => {
    const types = new Set(history.map((event) => event.type));
    for (const projection of readModels) {
      expect(
        projection.handles.filter((type) => types.has(type)),
        `${projection.name} handles none of the history's events`,
      ).not.toEqual([]);
    }
  });

  it.each(readModels.map((projection) => ({ name: projection.name, projection })))(
    '$name: the same rows after each quarter of the history',
    async ({ projection }) => {
      let seen = 0;
      for (const quarter of [1, 2, 3, 4]) {
        const part = history.slice(
          Math.floor((history.length * (quarter - 1)) / 4),
          Math.floor((history.length * quarter) / 4),
        );
        await applyOnce(projection, once.db, part);
        await applyTwice(projection, twice.db, part);
        for (const table of projection.tables) {
          const rows = await tableRows(once.db, table);
          seen += rows.length;
          expect(await tableRows(twice.db, table), `${table} after quarter ${quarter}`).toEqual(rows);
        }
      }
      // Not a comparison of empty tables: the history wrote something into this read model.
      if (projection.tables.length > 0) expect(seen).toBeGreaterThan(0);
    },
  );
});
