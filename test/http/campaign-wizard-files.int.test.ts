import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPT_OUT, openWizard, screenshots, type Wizard } from '../support/wizard.ts';

/**
 * Issue 15: the campaign wizard under real files, in Chromium, one test per item (the preview's side; publishing
 * and the campaign page are in campaign-wizard-publish.int.test.ts). The fixtures are what real exports and
 * hostile users send: BOM + CRLF, quotes, Unicode, naughty strings, national formats, Excel's scientific
 * notation, empty cells, blank lines, 10,000 and 10,001 rows, a PNG, empty and header-only files. Screenshots go
 * to test-results/.
 */
// The page's globals, inside the functions Playwright runs in the browser (this project has no DOM types).
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  body: { setAttribute(name: string, value: string): void };
};
declare const window: Record<string, unknown>;

let wizard: Wizard;
beforeAll(async () => {
  wizard = await openWizard({ worker: false });
}, 60_000);
afterAll(async () => {
  await wizard?.close();
});

describe('the campaign wizard under real files', () => {
  it('reads a real-world export: BOM + CRLF, quoted commas, newlines and "", Unicode, naughty strings, a long field', async () => {
    const { page, newCampaign, parse, rowsOf, messageOf } = wizard;
    await newCampaign('Real world', 'Hi {{first_name}}.');
    const long = 'a'.repeat(10_000);
    const values = [
      ['"Dee, Jr."', 'Dee, Jr.'],
      ['"Ann\nMarie"', 'Ann\nMarie'],
      ['"Say ""hi"""', 'Say "hi"'],
      ['🎉 Zoë', '🎉 Zoë'],
      ['مرحبا', 'مرحبا'],
      ['李雷', '李雷'],
      ['Jose\u0301', 'Jose\u0301'],
      ['<script>window.xss=1</script>', '<script>window.xss=1</script>'],
      ['"<img src=x onerror=""window.xss=1"">"', '<img src=x onerror="window.xss=1">'],
      ["' OR 1=1 --", "' OR 1=1 --"],
      ['${7*7}', '${7*7}'],
      ['{{constructor}}', '{{constructor}}'],
      ['\u202Eevil', '\u202Eevil'],
    ];
    const lines = [
      '\ufeffphone,first_name,note',
      ...values.map(([cell], index) => `+1415555${String(301 + index).padStart(4, '0')},${cell},n`),
    ];
    lines.push(`+14155550399,${long},n`);
    expect(await parse('real-world.csv', `${lines.join('\r\n')}\r\n`)).toBe(200);

    const rows = await rowsOf();
    // The quoted newline is one spreadsheet row: the rows run 2…15 without a gap.
    expect(rows.map(([row]) => row)).toEqual(Array.from({ length: 14 }, (_, index) => index + 2));
    expect(rows.slice(0, 13).every(([, , error]) => error === null)).toBe(true);
    expect(rows[13]![2]).toBe('SMS_TOO_LONG');
    for (const [index, [, value]] of values.entries()) {
      expect(await messageOf(index + 2)).toBe(`Hi ${value}.\n${OPT_OUT}`);
    }
    expect(await page.evaluate(() => window.xss)).toBeUndefined();
    expect(await page.textContent('#preview-encoding')).toBe('UTF-8');
    // The 10,000-character row is refused on its row and shown cut short, not as a 10,000-character cell.
    expect((await page.getAttribute('#preview-table tr[data-row="15"] td:nth-child(2)', 'title'))!.length).toBeLessThan(
      300,
    );
    await page.screenshot({ path: path.join(screenshots, 'wizard-real-world.png'), fullPage: true });

    // A placeholder named like an object's property is a column like any other: here, a missing one.
    await page.fill('textarea[name=text]', 'Hi {{constructor}}.');
    await parse('real-world.csv', `${lines.join('\r\n')}\r\n`);
    expect(new Set((await rowsOf()).map(([, , error]) => error))).toEqual(new Set(['MISSING_VARIABLE=constructor']));
  }, 60_000);

  it('item 1: reads national formats with the default country, or refuses them as COUNTRY_CODE_MISSING', async () => {
    const { page, newCampaign, parse, rowsOf } = wizard;
    const file = [
      'phone,first_name',
      '(479) 555-0130,A',
      '(604) 555-0131,B',
      '479-555-0132,C',
      '479.555.0133,D',
      '07911 123456,E',
      '+1 479 555 0134,F',
      '1 (479) 555-0135,G',
      '001 604 555 0136,H',
      '44 7911 123457,I',
      '4.47911E+11,J',
      '+1-479-555-0134,K',
      '14795550135,L',
      '+44 (0) 7911 123457,M',
    ].join('\n');
    await newCampaign('National', 'Hi {{first_name}}.');
    await parse('national.csv', file);
    expect(await rowsOf()).toEqual([
      [2, '(479) 555-0130', 'COUNTRY_CODE_MISSING'],
      [3, '(604) 555-0131', 'COUNTRY_CODE_MISSING'],
      [4, '479-555-0132', 'COUNTRY_CODE_MISSING'],
      [5, '479.555.0133', 'COUNTRY_CODE_MISSING'],
      [6, '07911 123456', 'COUNTRY_CODE_MISSING'],
      [7, '+14795550134', null],
      [8, '+14795550135', null],
      [9, '+16045550136', null],
      [10, '+447911123457', null],
      [11, '4.47911E+11', 'NUMBER_IN_SCIENTIFIC_NOTATION'],
      [12, '+14795550134', 'DUPLICATE_NUMBER'],
      [13, '+14795550135', 'DUPLICATE_NUMBER'],
      [14, '+447911123457', 'DUPLICATE_NUMBER'],
    ]);
    expect(await page.textContent('#preview-country')).toContain('No default country is set');
    expect(await page.textContent('#preview-table tr[data-row="2"]')).toContain('set a default country in Settings');
    await page.screenshot({ path: path.join(screenshots, 'wizard-national-refused.png'), fullPage: true });

    await page.goto(`${wizard.running.baseUrl}/settings`);
    await page.selectOption('#default-country select[name=country]', 'US');
    await page.click('#save-country');
    await page.waitForURL(/\/settings/);
    expect(await page.inputValue('#default-country select[name=country]')).toBe('US');
    await page.locator('#default-country').screenshot({ path: path.join(screenshots, 'settings-default-country.png') });

    await newCampaign('National', 'Hi {{first_name}}.');
    expect(await page.textContent('#default-country')).toContain('United States (+1)');
    await parse('national.csv', file);
    expect((await rowsOf()).slice(0, 5)).toEqual([
      [2, '+14795550130', null],
      [3, '+16045550131', null],
      [4, '+14795550132', null],
      [5, '+14795550133', null],
      [6, '07911 123456', 'INVALID_NUMBER'],
    ]);
    expect(await page.textContent('#preview-country')).toContain('United States (+1)');
    await page.screenshot({ path: path.join(screenshots, 'wizard-national-us.png'), fullPage: true });

    await page.goto(`${wizard.running.baseUrl}/settings`);
    await page.selectOption('#default-country select[name=country]', '');
    await page.click('#save-country');
    await page.waitForURL(/\/settings/);
    expect(await page.inputValue('#default-country select[name=country]')).toBe('');
  }, 60_000);

  it('item 2: an empty cell for a variable the message uses is MISSING_VARIABLE=<column>', async () => {
    const { page, newCampaign, parse, rowsOf, messageOf } = wizard;
    await newCampaign('Empty cells', 'Hi {{first_name}}, order {{order}} is ready.');
    await parse(
      'empty-cells.csv',
      [
        'phone,first_name,order,unused',
        '+14155550401,,5002,x',
        '+14155550402,"   ",5003,',
        '+14155550403,Cy,,',
        '+14155550404,Di,5005,',
      ].join('\n'),
    );
    expect((await rowsOf()).map(([row, , error]) => [row, error])).toEqual([
      [2, 'MISSING_VARIABLE=first_name'],
      [3, 'MISSING_VARIABLE=first_name'],
      [4, 'MISSING_VARIABLE=order'],
      [5, null],
    ]);
    expect(await messageOf(5)).toBe(`Hi Di, order 5005 is ready.\n${OPT_OUT}`);
    expect(await page.textContent('#preview-summary')).toMatch(/1\s+of 4 recipient rows will be sent/);
  });

  it('item 3: exactly 10,000 rows are all read; 10,001 are refused whole, with the count and the limit', async () => {
    const { page, newCampaign, parse, settled } = wizard;
    const rows = (count: number) =>
      ['phone,first_name', ...Array.from({ length: count }, (_, i) => `+1415${2_000_000 + i},N${i}`)].join('\n');
    await newCampaign('Ten thousand', 'Hi {{first_name}}.');
    expect(await parse('10000.csv', rows(10_000))).toBe(200);
    expect(await page.textContent('#preview-summary')).toMatch(/10,000\s+of 10,000 recipient rows will be sent/);
    expect(await page.locator('input[name=uploadId]').count()).toBe(1);

    expect(await parse('10001.csv', rows(10_001))).toBe(422);
    const refusal = (await page.textContent('#preview-error')) ?? '';
    expect(refusal).toContain('10,001 rows');
    expect(refusal).toContain('at most 10,000 rows');
    expect(await page.locator('#preview-table').count()).toBe(0);
    expect(await page.locator('input[name=uploadId]').count()).toBe(0);
    await page.screenshot({ path: path.join(screenshots, 'wizard-too-many-rows.png'), fullPage: true });
    // Nothing can be published from it.
    await page.check('input[name=consent]');
    await settled('campaign-form', () => page.click('#publish'));
    expect(await page.textContent('#form-error')).toContain('Parse the recipients');
    expect(
      await wizard.running.app.db('campaigns').where({ name: 'Ten thousand' }).count<{ count: string }[]>('* as count'),
    ).toEqual([{ count: '0' }]);
  }, 90_000);

  it('item 4: errors are shown where the user looks, and never as the bytes of the file', async () => {
    const { page, newCampaign, parse } = wizard;
    await newCampaign('Errors', 'Hi there.');
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0xff, 0xfe,
    ]);
    expect(await parse('photo.csv', png)).toBe(422);
    const message = (await page.textContent('#preview-error')) ?? '';
    expect(message).toContain('not a CSV: it is a PNG image');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no byte of the file may be echoed
    expect(message).not.toMatch(/[\u0000-\u0008\u001a\ufffd]|IHDR/);
    await page.screenshot({ path: path.join(screenshots, 'wizard-png.png'), fullPage: true });

    // An expired form (the CSRF token no longer the session's): the counter's request is refused with 403, and the
    // refusal appears beside the counter.
    await page.evaluate(() => document.body.setAttribute('hx-headers', '{"X-CSRF-Token": "stale"}'));
    const refused = page.waitForResponse((response) => response.url().endsWith('/campaigns/new/count'));
    await page.fill('textarea[name=text]', 'Hi there, again.');
    expect((await refused).status()).toBe(403);
    await page.waitForSelector('[data-request-error="counter"]');
    expect(await page.textContent('[data-request-error="counter"]')).toContain('Reload the page and try again');
    await page.screenshot({ path: path.join(screenshots, 'wizard-request-error.png') });

    // A proxy in front of Outbound answering 502 with bytes of its own: a sentence, not the bytes.
    await page.route('**/campaigns/new/count', (route) =>
      route.fulfill({
        status: 502,
        contentType: 'application/octet-stream',
        body: Buffer.from([0xde, 0xad, 0, 0xbe, 0xef]),
      }),
    );
    await page.fill('textarea[name=text]', 'Hi there, once more.');
    await page.waitForFunction(() =>
      document.querySelector('[data-request-error="counter"]')?.textContent?.includes('bad gateway'),
    );
    await page.unroute('**/campaigns/new/count');
  }, 60_000);

  it('item 5: an empty file and a header-only file say the file has no recipients', async () => {
    const { page, newCampaign, parse } = wizard;
    await newCampaign('Nothing', 'Hi there.');
    expect(await parse('empty.csv', '')).toBe(422);
    expect(await page.textContent('#preview-error')).toContain('The file has no recipients: it is empty.');
    expect(await parse('header.csv', '\ufeffphone,first_name\r\n\r\n')).toBe(422);
    expect(await page.textContent('#preview-error')).toContain(
      'The file has no recipients: it has a header row (phone, first_name) but no rows below it.',
    );
    expect(await page.locator('input[name=uploadId]').count()).toBe(0);
  });

  it('item 8: rows are numbered as a spreadsheet numbers them, blank lines included', async () => {
    const { newCampaign, parse, rowsOf } = wizard;
    await newCampaign('Blank lines', 'Hi {{first_name}}.');
    await parse(
      'blank-lines.csv',
      ['phone,first_name', '+14155550501,A', '', '+14155550502,B', ',', '', 'bad,C'].join('\n'),
    );
    expect((await rowsOf()).map(([row, , error]) => [row, error])).toEqual([
      [2, null],
      [4, null],
      [7, 'INVALID_NUMBER'],
    ]);
  });
});
