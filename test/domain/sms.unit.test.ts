import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OPT_OUT_TEXT,
  normalizePhone,
  parsePhone,
  phoneRegion,
  placeholdersOf,
  renderSms,
  smsLength,
  smsSegments,
  withOptOut,
} from '../../src/domain/sms.ts';

describe('SMS rules', () => {
  it('counts the text, a line break and the opt-out line', () => {
    expect(smsLength('Hello', DEFAULT_OPT_OUT_TEXT)).toBe(5 + 1 + DEFAULT_OPT_OUT_TEXT.length);
    expect(smsLength('Hi 👋', '')).toBe(4);
    expect(withOptOut('Hello', 'Reply STOP')).toBe('Hello\nReply STOP');
  });

  it('finds placeholders in all three forms, once each', () => {
    expect(placeholdersOf('Hi ${{1}}, {{2}} and {{ name }} and ${{1}} again')).toEqual(['1', '2', 'name']);
    expect(placeholdersOf('No variables {here}')).toEqual([]);
  });

  it.each([
    ['Hi ${{1}}', { 1: 'Ada' }, { ok: true, text: 'Hi Ada' }],
    ['Hi {{name}}, order {{2}}', { name: 'Bo', 2: '42' }, { ok: true, text: 'Hi Bo, order 42' }],
    ['Hi ${{1}}', undefined, { ok: false, error: 'INSUFFICIENT_VARIABLES' }],
    ['Hi ${{1}} ${{2}}', { 1: 'Ada' }, { ok: false, error: 'MISSING_VARIABLE=2' }],
    ['Hi ${{1}}', { 1: 7 }, { ok: false, error: 'VARIABLE_NOT_STRING=1' }],
    ['Hi ${{1}}', { 1: 'Ada', 2: 'extra' }, { ok: false, error: 'TOO_MANY_VARIABLES' }],
    ['Plain', {}, { ok: true, text: 'Plain' }],
    ['Plain', { 1: 'x' }, { ok: false, error: 'TOO_MANY_VARIABLES' }],
  ])('renders %j with %j', (text, variables, expected) => {
    expect(renderSms(text, variables as Record<string, unknown> | undefined)).toEqual(expected);
  });

  it.each([
    ['+14155550100', '+14155550100'],
    ['14155550100', '+14155550100'],
    [' +1 (415) 555-0100 ', '+14155550100'],
    ['+447911123456', '+447911123456'],
    ['+16135550123', '+16135550123'],
    ['12345', null],
    ['+1415555010', null],
    ['not a number', null],
    ['', null],
    [null, null],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });
});

describe('parsePhone', () => {
  it('tells a landline or a mobile where the numbering plan does, and nothing where it cannot', () => {
    expect(parsePhone('+33140000000')).toEqual({ e164: '+33140000000', lineType: 'FIXED_LINE' });
    expect(parsePhone('33612345678')).toEqual({ e164: '+33612345678', lineType: 'MOBILE' });
    expect(parsePhone('+1 (415) 555-0100')).toEqual({ e164: '+14155550100', lineType: null });
    expect(parsePhone('+1415555')).toBeNull();
    expect(parsePhone({})).toBeNull();
  });
});

describe('smsSegments', () => {
  it('is one up to 140 characters with the opt-out line, then one more per 140 begun', () => {
    const optOut = DEFAULT_OPT_OUT_TEXT;
    const room = 140 - optOut.length - 1;
    expect(smsSegments('x'.repeat(room), optOut)).toBe(1);
    expect(smsSegments('x'.repeat(room + 1), optOut)).toBe(2);
    expect(smsSegments('x'.repeat(room + 141), optOut)).toBe(3);
    expect(smsSegments('', '')).toBe(1);
  });
});

describe('phoneRegion', () => {
  it('tells the ISO region of a number in either form, or null', () => {
    expect(phoneRegion('14155550100')).toBe('US');
    expect(phoneRegion('+447700900123')).toBe('GB');
    expect(phoneRegion('+12')).toBeNull();
    expect(phoneRegion(undefined)).toBeNull();
  });
});
