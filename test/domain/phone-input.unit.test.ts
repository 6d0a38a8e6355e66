import { describe, expect, it } from 'vitest';
import { maskNumber, readRecipientNumber } from '../../src/domain/phone-input.ts';

/** Issue 15 item 1: a national-format number is read in the default country or refused, never guessed. */
const read = (input: string, country: string | null = null) => {
  const reading = readRecipientNumber(input, country);
  return reading.ok ? reading.e164 : reading.error;
};

describe('readRecipientNumber', () => {
  it('refuses national formats without a default country, naming the missing country code', () => {
    for (const input of [
      '(479) 555-0130',
      '(604) 555-0131',
      '479-555-0130',
      '479.555.0130',
      '479 555 0130',
      '07911 123456',
      '0612345678',
    ]) {
      expect(read(input), input).toBe('COUNTRY_CODE_MISSING');
    }
  });

  it('reads national formats in the default country', () => {
    expect(read('(479) 555-0130', 'US')).toBe('+14795550130');
    expect(read('(604) 555-0131', 'US')).toBe('+16045550131');
    expect(read('(604) 555-0131', 'CA')).toBe('+16045550131');
    expect(read('479.555.0130', 'US')).toBe('+14795550130');
    expect(read('07911 123456', 'GB')).toBe('+447911123456');
    expect(read('06 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(read('011 44 7911 123456', 'US')).toBe('+447911123456');
    expect(read('07911 123456', 'US')).toBe('INVALID_NUMBER');
  });

  it('keeps LivePerson’s rule for bare digits and reads international forms', () => {
    expect(read('14155550100')).toBe('+14155550100');
    expect(read('4795550130')).toBe('+4795550130');
    expect(read('4795550130', 'US')).toBe('+4795550130');
    expect(read('44 7911 123456')).toBe('+447911123456');
    expect(read('+1 (415) 555-0100')).toBe('+14155550100');
    expect(read('+44 (0) 7911 123456')).toBe('+447911123456');
    expect(read('1 (479) 555-0130')).toBe('+14795550130');
    expect(read('1-479-555-0130')).toBe('+14795550130');
    expect(read('001 415 555 0100')).toBe('+14155550100');
    expect(read('0044 7911 123456', 'GB')).toBe('+447911123456');
  });

  it('refuses what is not a number, and Excel’s scientific notation by name', () => {
    expect(read('4.47911E+11')).toBe('NUMBER_IN_SCIENTIFIC_NOTATION');
    expect(read('4,47911E+11')).toBe('NUMBER_IN_SCIENTIFIC_NOTATION');
    expect(read('not-a-number')).toBe('INVALID_NUMBER');
    expect(read('+1 415 555')).toBe('INVALID_NUMBER');
    expect(read('12')).toBe('INVALID_NUMBER');
    expect(read("' OR 1=1 --")).toBe('INVALID_NUMBER');
  });

  it('masks all but the country code and the last two digits', () => {
    expect(maskNumber('+14155550101')).toBe('+1 ••••••••01');
    expect(maskNumber('+447911123456')).toBe('+44 ••••••••56');
  });
});
