import { describe, expect, it } from 'vitest';
import type { AccountEvent } from '../../src/domain/account.ts';
import * as account from '../../src/domain/account.ts';
import { findSkill, initialSettings, type WeeklyWindow } from '../../src/domain/account-settings.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(account);
const accountId = 'acme';
const created: AccountEvent = { type: 'AccountCreated', data: { accountId, name: 'Acme', defaultTimeZone: 'UTC' } };
const senderAdded: AccountEvent = {
  type: 'SenderAdded',
  data: { accountId, senderId: 's1', channel: 'sms', address: '+14155550100', label: 'Main', rate: 1 },
};
const addSender = {
  type: 'AddSender',
  accountId,
  senderId: 's1',
  channel: 'sms',
  address: '+14155550100',
  label: 'Main',
  rate: 1,
} as const;
const allDay = { start: '08:00', end: '21:00' };
const week = (overrides: Partial<WeeklyWindow> = {}): WeeklyWindow => ({
  monday: allDay,
  tuesday: allDay,
  wednesday: allDay,
  thursday: allDay,
  friday: allDay,
  saturday: null,
  sunday: null,
  ...overrides,
});

describe('account settings', () => {
  it('adds a sender once per channel and address', () => {
    given([created]).when(addSender).then([senderAdded]);
    given([created, senderAdded])
      .when({ ...addSender, senderId: 's2' })
      .thenThrows('SENDER_EXISTS');
    given([created, senderAdded])
      .when({ ...addSender, senderId: 's2', channel: 'whatsapp' })
      .then([{ type: 'SenderAdded', data: { ...senderAdded.data, senderId: 's2', channel: 'whatsapp' } as never }]);
    given([]).when(addSender).thenThrows('ACCOUNT_NOT_FOUND');
  });

  it('validates rates: 0 means no limit, negative is refused', () => {
    given([created])
      .when({ ...addSender, rate: 0 })
      .then([{ type: 'SenderAdded', data: { ...senderAdded.data, rate: 0 } as never }]);
    given([created])
      .when({ ...addSender, rate: -1 })
      .thenThrows('INVALID_RATE');
    given([created])
      .when({ type: 'SetSendRate', accountId, channel: 'sms', rate: Number.NaN })
      .thenThrows('INVALID_RATE');
  });

  it('changes and removes senders that exist', () => {
    given([created, senderAdded])
      .when({ type: 'SetSenderRate', accountId, senderId: 's1', rate: 3 })
      .then([{ type: 'SenderRateSet', data: { accountId, senderId: 's1', rate: 3 } }]);
    given([created, senderAdded]).when({ type: 'SetSenderRate', accountId, senderId: 's1', rate: 1 }).then([]);
    given([created]).when({ type: 'RemoveSender', accountId, senderId: 's1' }).thenThrows('SENDER_NOT_FOUND');
    given([created, senderAdded])
      .when({ type: 'RemoveSender', accountId, senderId: 's1' })
      .then([{ type: 'SenderRemoved', data: { accountId, senderId: 's1' } }]);
  });

  it('sets the account send rate per channel, once per change', () => {
    const set: AccountEvent = { type: 'SendRateSet', data: { accountId, channel: 'sms', rate: 20 } };
    given([created]).when({ type: 'SetSendRate', accountId, channel: 'sms', rate: 20 }).then([set]);
    given([created, set]).when({ type: 'SetSendRate', accountId, channel: 'sms', rate: 20 }).then([]);
  });

  it('makes the first skill the default and refuses duplicate names', () => {
    const first: AccountEvent = {
      type: 'SkillAdded',
      data: { accountId, skillId: 'k1', name: 'Sales', isDefault: true },
    };
    given([created])
      .when({ type: 'AddSkill', accountId, skillId: 'k1', name: ' Sales ', isDefault: false })
      .then([first]);
    given([created, first])
      .when({ type: 'AddSkill', accountId, skillId: 'k2', name: 'sales', isDefault: false })
      .thenThrows('SKILL_EXISTS');
    given([created, first])
      .when({ type: 'AddSkill', accountId, skillId: 'k2', name: 'Support', isDefault: false })
      .then([{ type: 'SkillAdded', data: { accountId, skillId: 'k2', name: 'Support', isDefault: false } }]);
    given([created])
      .when({ type: 'AddSkill', accountId, skillId: 'k1', name: '  ', isDefault: false })
      .thenThrows('INVALID_SKILL');
  });

  it('sets receiving windows, refusing a window that ends before it starts', () => {
    given([created])
      .when({ type: 'SetReceivingWindow', accountId, channel: 'sms', window: week() })
      .then([{ type: 'ReceivingWindowSet', data: { accountId, channel: 'sms', window: week() } }]);
    given([created])
      .when({
        type: 'SetReceivingWindow',
        accountId,
        channel: 'sms',
        window: week({ monday: { start: '21:00', end: '08:00' } }),
      })
      .thenThrows('INVALID_WINDOW');
  });

  it('sets the default time zone when it changes', () => {
    given([created]).when({ type: 'SetDefaultTimeZone', accountId, timeZone: 'UTC' }).then([]);
    given([created])
      .when({ type: 'SetDefaultTimeZone', accountId, timeZone: 'Europe/Paris' })
      .then([{ type: 'DefaultTimeZoneSet', data: { accountId, timeZone: 'Europe/Paris' } }]);
  });

  it('sets the default country for national-format numbers, and clears it', () => {
    given([created])
      .when({ type: 'SetDefaultCountry', accountId, country: 'us' })
      .then([{ type: 'DefaultCountrySet', data: { accountId, country: 'US' } }]);
    given([created]).when({ type: 'SetDefaultCountry', accountId, country: null }).then([]);
    given([created, { type: 'DefaultCountrySet', data: { accountId, country: 'US' } }])
      .when({ type: 'SetDefaultCountry', accountId, country: '' })
      .then([{ type: 'DefaultCountrySet', data: { accountId, country: null } }]);
    given([created]).when({ type: 'SetDefaultCountry', accountId, country: 'XX' }).thenThrows('INVALID_COUNTRY');
    given([created]).when({ type: 'SetDefaultCountry', accountId, country: 'USA' }).thenThrows('INVALID_COUNTRY');
  });
});

describe('findSkill', () => {
  const settings = {
    ...initialSettings(),
    skills: { 'skill-1': { name: 'Sales' }, 'skill-2': { name: 'Support' } },
  };
  it('finds a skill by id or by name in any case, the same for handoffs and campaigns', () => {
    expect(findSkill(settings, 'skill-2')?.[0]).toBe('skill-2');
    expect(findSkill(settings, 'Sales')?.[0]).toBe('skill-1');
    expect(findSkill(settings, 'sALES')?.[0]).toBe('skill-1');
    expect(findSkill(settings, ' support ')?.[0]).toBe('skill-2');
    expect(findSkill(settings, 'Billing')).toBeUndefined();
  });
});

describe('line type check (B4)', () => {
  const set = (enabled: boolean, cacheDays: number) =>
    ({ type: 'SetLineTypeCheck', accountId, enabled, cacheDays }) as const;
  const checked: AccountEvent = { type: 'LineTypeCheckSet', data: { accountId, enabled: true, cacheDays: 30 } };

  it('is off by default; switching it on records the cache period', () => {
    given([created]).when(set(true, 30)).then([checked]);
    given([created]).when(set(false, 30)).then([]);
  });

  it('setting what is already set decides nothing; a new period is recorded', () => {
    given([created, checked]).when(set(true, 30)).then([]);
    given([created, checked])
      .when(set(true, 7))
      .then([{ type: 'LineTypeCheckSet', data: { accountId, enabled: true, cacheDays: 7 } }]);
  });

  it('refuses a cache period outside 1 to 365 days, naming the field', () => {
    for (const days of [0, 366, 1.5]) given([created]).when(set(true, days)).thenThrows('INVALID_CACHE_DAYS');
  });
});

describe('retention period (F14)', () => {
  const set = (days: number | null) => ({ type: 'SetRetentionPeriod', accountId, days }) as const;
  const thirty: AccountEvent = { type: 'RetentionPeriodSet', data: { accountId, days: 30 } };

  it('is none by default; a period is recorded, and can be removed again', () => {
    expect(initialSettings().retentionDays).toBeNull();
    given([created]).when(set(null)).then([]);
    given([created]).when(set(30)).then([thirty]);
    given([created, thirty]).when(set(30)).then([]);
    given([created, thirty])
      .when(set(null))
      .then([{ type: 'RetentionPeriodSet', data: { accountId, days: null } }]);
  });

  it('refuses a period outside 1 to 3650 days, naming the field', () => {
    for (const days of [0, -1, 3651, 2.5]) given([created]).when(set(days)).thenThrows('INVALID_RETENTION');
  });
});
