import { describe, expect, it } from 'vitest';
import type { WeeklyWindow } from '../../src/domain/account-settings.ts';
import { DEFAULT_SMS_WINDOW, nextOpening } from '../../src/domain/receiving-window.ts';

const at = (iso: string) => new Date(iso);

describe('receiving window (F13)', () => {
  it('defers a Honolulu recipient at 22:00 local to 08:00 the next morning', () => {
    // 22:00 HST (UTC-10) is 08:00 UTC the next day.
    const decision = nextOpening({
      zones: ['Pacific/Honolulu'],
      window: DEFAULT_SMS_WINDOW,
      now: at('2026-11-25T08:00:00Z'),
      defaultZone: 'UTC',
    });
    expect(decision).toEqual({ open: false, until: at('2026-11-25T18:00:00Z'), zones: ['Pacific/Honolulu'] });
  });

  it('sends at once inside the window, and treats the end as exclusive', () => {
    expect(
      nextOpening({
        zones: ['Pacific/Honolulu'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-11-25T18:00:00Z'),
        defaultZone: 'UTC',
      }).open,
    ).toBe(true);
    // 21:00 New York (EST, UTC-5) is 02:00 UTC: closed until 08:00 EST = 13:00 UTC.
    expect(
      nextOpening({
        zones: ['America/New_York'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-11-26T02:00:00Z'),
        defaultZone: 'UTC',
      }),
    ).toMatchObject({
      open: false,
      until: at('2026-11-26T13:00:00Z'),
    });
  });

  it('opens at 08:00 local across the spring-forward change (New York, 8 March 2026)', () => {
    // 23:00 EST on 7 March; the clocks jump at 02:00 on the 8th, so 08:00 is EDT (UTC-4) = 12:00 UTC.
    expect(
      nextOpening({
        zones: ['America/New_York'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-03-08T04:00:00Z'),
        defaultZone: 'UTC',
      }),
    ).toMatchObject({
      open: false,
      until: at('2026-03-08T12:00:00Z'),
    });
  });

  it('opens at 08:00 local across the fall-back change (New York, 1 November 2026)', () => {
    // 22:00 EDT on 31 October; 08:00 on 1 November is EST (UTC-5) = 13:00 UTC.
    expect(
      nextOpening({
        zones: ['America/New_York'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-11-01T02:00:00Z'),
        defaultZone: 'UTC',
      }),
    ).toMatchObject({
      open: false,
      until: at('2026-11-01T13:00:00Z'),
    });
  });

  it('handles London across its spring change too', () => {
    // 29 March 2026, 07:30 GMT = 07:30 UTC → 08:30 BST: open. At 06:30 UTC (07:30 BST) it waits for 08:00 BST = 07:00 UTC.
    expect(
      nextOpening({
        zones: ['Europe/London'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-03-29T07:30:00Z'),
        defaultZone: 'UTC',
      }).open,
    ).toBe(true);
    expect(
      nextOpening({
        zones: ['Europe/London'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-03-29T06:30:00Z'),
        defaultZone: 'UTC',
      }),
    ).toMatchObject({
      until: at('2026-03-29T07:00:00Z'),
    });
  });

  it('with several zones, waits until the window is open in all of them', () => {
    // 13:00 UTC: 08:00 in New York (EST) but 05:00 in Los Angeles; all open at 08:00 PST = 16:00 UTC.
    expect(
      nextOpening({
        zones: ['America/New_York', 'America/Los_Angeles'],
        window: DEFAULT_SMS_WINDOW,
        now: at('2026-11-25T13:00:00Z'),
        defaultZone: 'UTC',
      }),
    ).toMatchObject({ open: false, until: at('2026-11-25T16:00:00Z') });
  });

  it('falls back to the account zone when the zones never share an open hour', () => {
    // Eight hours apart each, a 13-hour window is never open in all three at once.
    const decision = nextOpening({
      zones: ['America/Los_Angeles', 'Europe/London', 'Asia/Shanghai'],
      window: DEFAULT_SMS_WINDOW,
      now: at('2026-11-25T03:00:00Z'),
      defaultZone: 'America/Chicago',
    });
    // 03:00 UTC = 21:00 in Chicago (CST): closed until 08:00 CST = 14:00 UTC.
    expect(decision).toEqual({ open: false, until: at('2026-11-25T14:00:00Z'), zones: ['America/Chicago'] });
  });

  it('uses the account zone for unknown zones, and skips closed days', () => {
    const weekdaysOnly: WeeklyWindow = { ...DEFAULT_SMS_WINDOW, saturday: null, sunday: null };
    // Saturday 28 November 2026, noon in Paris → Monday 08:00 CET = 07:00 UTC.
    expect(
      nextOpening({ zones: null, window: weekdaysOnly, now: at('2026-11-28T11:00:00Z'), defaultZone: 'Europe/Paris' }),
    ).toEqual({
      open: false,
      until: at('2026-11-30T07:00:00Z'),
      zones: ['Europe/Paris'],
    });
    expect(
      nextOpening({ zones: ['Not/AZone'], window: null, now: at('2026-11-28T11:00:00Z'), defaultZone: 'UTC' }).open,
    ).toBe(true);
  });
});
