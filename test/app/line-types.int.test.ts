import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLineTypeCheck } from '../../src/app/account-settings.ts';
import { loadAccount } from '../../src/app/accounts.ts';
import { cachedLineTypes, isLandline, lineTypeOf } from '../../src/app/line-types.ts';
import { SYSTEM } from '../dispatch/support.ts';
import { startTestApp, TEST_ADMIN, type TestApp } from '../support/app.ts';
import { WebSession } from '../support/browser-session.ts';

/** B4 against the sandbox's Lookup through the real SDK: landlines in any country (Canada too), cached per ref. */
let running: TestApp;
const canadianLandline = '+14165550123';
const canadianMobile = '+16475550188';

async function faults(body: Record<string, unknown>) {
  const response = await fetch(`${running.baseUrl}/sandbox/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  running = await startTestApp();
});
afterAll(async () => {
  await running?.close();
});

const deps = () => ({ db: running.app.db, log: running.app.log, lineTypes: running.app.channels.lineTypes });
const refOf = (phone: string) => running.app.channels.personalData.consumerRef('default', phone);

describe('line type check', () => {
  it('tells a Canadian landline from a mobile, and keeps the answer for the cache period', async () => {
    await faults({ landlines: [canadianLandline] });
    const landlineRef = await refOf(canadianLandline);
    const now = new Date('2026-12-01T12:00:00Z');
    const ask = (phone: string, consumerRef: string, at: Date) =>
      lineTypeOf(deps(), { accountId: 'default', consumerRef, phone, cacheDays: 30, now: at });
    expect(await ask(canadianLandline, landlineRef, now)).toBe('landline');
    expect(await ask(canadianMobile, await refOf(canadianMobile), now)).toBe('mobile');

    // Lookup would now say mobile; within 30 days the cached answer stands, after them it is asked again.
    await faults({ landlines: [] });
    expect(await ask(canadianLandline, landlineRef, new Date('2026-12-30T12:00:00Z'))).toBe('landline');
    expect(await ask(canadianLandline, landlineRef, new Date('2026-12-31T12:00:01Z'))).toBe('mobile');
    // The cache holds refs and types, never the number.
    const rows = await running.app.db('line_types').select();
    expect(JSON.stringify(rows)).not.toContain(canadianLandline.slice(2));
  });

  it('skips landlines only when the account checks line types', async () => {
    await faults({ landlines: [canadianLandline] });
    const input = {
      accountId: 'default',
      consumerRef: await refOf(canadianLandline),
      phone: canadianLandline,
      now: new Date('2027-06-01T00:00:00Z'),
    };
    expect(await isLandline(deps(), { ...input, settings: { enabled: false, cacheDays: 30 } })).toBe(false);
    expect(await isLandline(deps(), { ...input, settings: { enabled: true, cacheDays: 30 } })).toBe(true);
    const cached = await cachedLineTypes(running.app.db, {
      accountId: 'default',
      consumerRefs: [input.consumerRef],
      cacheDays: 30,
      now: input.now,
    });
    expect(cached.get(input.consumerRef)).toBe('landline');
    await faults({ landlines: [] });
  });

  it('is switched on, with its cache period, on the settings page', async () => {
    const session = new WebSession(running.baseUrl);
    expect((await session.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
    expect((await session.get('/settings')).html).toContain('id="line-type"');
    const bad = await session.post('/settings/line-type-check', { enabled: 'on', cacheDays: '0' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('cacheDays must be a whole number from 1 to 365.');
    const saved = await session.post('/settings/line-type-check', { enabled: 'on', cacheDays: '7' });
    expect(saved.status).toBe(303);
    expect((await loadAccount(running.app, 'default')).settings.lineTypeCheck).toEqual({ enabled: true, cacheDays: 7 });
  });

  it('flags in the wizard’s preview the numbers the cache knows as landlines, when the account checks', async () => {
    await faults({ landlines: [canadianLandline] });
    // The dispatcher's lookup filled the cache (now, so it is fresh); the preview itself asks Lookup nothing.
    for (const phone of [canadianLandline, canadianMobile]) {
      await lineTypeOf(deps(), { accountId: 'default', consumerRef: await refOf(phone), phone, cacheDays: 30 });
    }
    await faults({ landlines: [] });
    const session = new WebSession(running.baseUrl);
    expect((await session.login(TEST_ADMIN.email, TEST_ADMIN.password)).status).toBe(303);
    await session.get('/campaigns/new');
    const preview = async () => {
      const answer = await session.post('/campaigns/new/preview', {
        name: 'Line types',
        text: 'Hello',
        numbers: `${canadianLandline}\n${canadianMobile}`,
      });
      expect(answer.status).toBe(200);
      return {
        accepted: /<strong>(\d+)<\/strong> of 2 recipient rows will be sent/.exec(answer.html)?.[1],
        flagged: [...answer.html.matchAll(/<tr data-row="(\d+)" class="row-error">/g)].map((match) => match[1]),
        landline: answer.html.includes('data-error="LANDLINE"'),
      };
    };
    await setLineTypeCheck(running.app, { accountId: 'default', enabled: false, cacheDays: 30 }, SYSTEM);
    expect(await preview()).toEqual({ accepted: '2', flagged: [], landline: false });
    await setLineTypeCheck(running.app, { accountId: 'default', enabled: true, cacheDays: 30 }, SYSTEM);
    expect(await preview()).toEqual({ accepted: '1', flagged: ['1'], landline: true });
  });
});
