import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
} from 'libphonenumber-js/max';

/**
 * A recipient's number as a person typed it into a spreadsheet or the wizard (F10). Bare digits keep LivePerson's
 * rule: the country code comes first (`14155550100`). A number written in a national format, with parentheses,
 * a trunk `0` or the 3-3-4 grouping of North America (`(479) 555-0130`, `07911 123456`, `479-555-0130`), names no
 * country: it is read with the account's default country, or refused as COUNTRY_CODE_MISSING. It is never read as
 * whatever country its first digits happen to spell (`(479) 555-0130` is not the Norwegian +47 95550130).
 */

export type NumberError = 'INVALID_NUMBER' | 'COUNTRY_CODE_MISSING' | 'NUMBER_IN_SCIENTIFIC_NOTATION';
export type LineType = 'FIXED_LINE' | 'MOBILE' | null;
export type NumberReading = { ok: true; e164: string; lineType: LineType } | { ok: false; error: NumberError };

// Excel shows a long number column as 4.47911E+11 and writes it to CSV that way: the last digits are gone.
const SCIENTIFIC = /^[+-]?\d+(?:[.,]\d+)?e\+?\d+$/i;
const ALLOWED = /^\+?[\d\s().-]+$/;
const NANP_GROUPED = /^\d{3}[\s.-]\d{3}[\s.-]?\d{4}$/;
// "1 (479) 555-0130", "1-479-555-0130": the NANP country code written before a national-looking number.
const NANP_WITH_ONE = /^1[\s.-]*(\(\d{3}\)[\s.-]?\d{3}[\s.-]?\d{4}|\d{3}[\s.-]\d{3}[\s.-]?\d{4})$/;

export function isCountry(code: string): code is CountryCode {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}

export function callingCode(country: string): string {
  return isCountry(country) ? getCountryCallingCode(country) : '';
}

/** Every country libphonenumber knows, by English name, for the settings page. */
export function countryChoices(): { code: string; name: string; callingCode: string }[] {
  const names = new Intl.DisplayNames(['en'], { type: 'region' });
  return getCountries()
    .map((code) => ({ code, name: names.of(code) ?? code, callingCode: getCountryCallingCode(code) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function countryName(country: string): string {
  return new Intl.DisplayNames(['en'], { type: 'region' }).of(country) ?? country;
}

export function readRecipientNumber(input: string, defaultCountry: string | null): NumberReading {
  const written = input.trim().replace(/\s+/g, ' ');
  if (SCIENTIFIC.test(written)) return { ok: false, error: 'NUMBER_IN_SCIENTIFIC_NOTATION' };
  if (!ALLOWED.test(written)) return { ok: false, error: 'INVALID_NUMBER' };
  if (written.startsWith('+')) return international(written.replace(/\(0\)/, ''));
  if (NANP_WITH_ONE.test(written)) return international(`+${written}`);
  const digits = written.replace(/\D/g, '');
  const national = /[()]/.test(written) || /^0(?!0)/.test(digits) || NANP_GROUPED.test(written);
  if (!national && /^00/.test(digits) && !defaultCountry) return international(`+${digits.slice(2)}`);
  if (!national && !/^0/.test(digits)) return international(`+${digits}`);
  // National formats (and international prefixes such as 00 or 011, which depend on where one dials from).
  if (!defaultCountry || !isCountry(defaultCountry)) return { ok: false, error: 'COUNTRY_CODE_MISSING' };
  return valid(parsePhoneNumberFromString(written, defaultCountry));
}

function international(written: string): NumberReading {
  const cleaned = written.replace(/[\s().-]/g, '');
  if (!/^\+\d{6,17}$/.test(cleaned)) return { ok: false, error: 'INVALID_NUMBER' };
  return valid(parsePhoneNumberFromString(cleaned));
}

function valid(phone: ReturnType<typeof parsePhoneNumberFromString>): NumberReading {
  if (!phone) return { ok: false, error: 'INVALID_NUMBER' };
  // With the full metadata a number is valid exactly when it has a type (libphonenumber's isValid calls getType):
  // asking for the type first spares the 10,000-row preview a second pass over the patterns.
  const type = phone.getType();
  if (type === undefined && !phone.isValid()) return { ok: false, error: 'INVALID_NUMBER' };
  return { ok: true, e164: phone.number, lineType: type === 'FIXED_LINE' || type === 'MOBILE' ? type : null };
}

/** A number as a role without access to personal data sees it: the country code and the last two digits. */
export function maskNumber(e164: string): string {
  const phone = parsePhoneNumberFromString(e164);
  if (!phone) return '•••';
  const national = String(phone.nationalNumber);
  return `+${phone.countryCallingCode} ${'•'.repeat(Math.max(national.length - 2, 1))}${national.slice(-2)}`;
}
