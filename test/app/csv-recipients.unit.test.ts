import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { CsvFileError, previewRecipients } from '../../src/app/csv-recipients.ts';

/** Issue 15: how the wizard reads files (encodings, separators, the row limit, refusals), without a browser. */
const template = { text: 'Hi {{first_name}}.', optOut: '' };
const names = (preview: Awaited<ReturnType<typeof previewRecipients>>) => preview.rows.map((row) => row.text);

describe('previewRecipients', () => {
  it('reads a Windows-1252 export, whole or streamed, and says so', async () => {
    const bytes = iconv.encode('phone,first_name\r\n+14155550101,José\r\n+14155550102,Müller\r\n', 'windows-1252');
    const whole = await previewRecipients({ csv: bytes }, template);
    expect(whole.encoding).toBe('windows-1252');
    expect(names(whole)).toEqual(['Hi José.', 'Hi Müller.']);
    const streamed = await previewRecipients(
      { csv: Readable.from([bytes.subarray(0, 20), bytes.subarray(20)]) },
      template,
    );
    expect(streamed.encoding).toBe('windows-1252');
    expect(names(streamed)).toEqual(['Hi José.', 'Hi Müller.']);
  });

  it('reads UTF-8 split inside a character across chunks, and UTF-16 with its BOM and tabs', async () => {
    const utf8 = Buffer.from('phone,first_name\n+14155550101,José\n');
    const cut = utf8.indexOf(0xa9); // the second byte of é
    const streamed = await previewRecipients(
      { csv: Readable.from([utf8.subarray(0, cut), utf8.subarray(cut)]) },
      template,
    );
    expect(streamed.encoding).toBe('utf-8');
    expect(names(streamed)).toEqual(['Hi José.']);

    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      iconv.encode('phone\tfirst_name\n+14155550101\tZoë\n', 'utf-16le'),
    ]);
    const read = await previewRecipients({ csv: utf16 }, template);
    expect([read.encoding, read.delimiter]).toEqual(['utf-16le', '\t']);
    expect(names(read)).toEqual(['Hi Zoë.']);
  });

  it('refuses a list over the limit whole, counting every row, and keeps nothing from it', async () => {
    const csv = ['phone,first_name', ...[1, 2, 3, 4].map((n) => `+1415555010${n},N${n}`)].join('\n');
    const atLimit = await previewRecipients({ csv: `${csv.split('\n').slice(0, 4).join('\n')}` }, template, {
      maxRows: 3,
    });
    expect([atLimit.refused, atLimit.valid.length]).toEqual([null, 3]);
    const over = await previewRecipients({ csv }, template, { maxRows: 3 });
    expect(over.refused?.code).toBe('TOO_MANY_ROWS');
    expect(over.refused?.message).toContain('has 4 rows of recipients; a campaign takes at most 3 rows');
    expect([over.total, over.valid.length, over.rows.length]).toEqual([4, 0, 0]);
    const typed = await previewRecipients({ typed: '+14155550101\n+14155550102' }, template, { maxRows: 1 });
    expect(typed.refused?.code).toBe('TOO_MANY_ROWS');
  });

  it('refuses files that are not CSV by what they are, never quoting their bytes', async () => {
    const refusal = async (csv: Buffer | string) => {
      try {
        await previewRecipients({ csv }, template);
      } catch (error) {
        expect(error).toBeInstanceOf(CsvFileError);
        return (error as CsvFileError).message;
      }
      throw new Error('not refused');
    };
    expect(await refusal(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toContain('a PNG image');
    expect(await refusal(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0]))).toContain('Excel workbook (.xlsx)');
    expect(await refusal(Buffer.from('phone,first_name\n\u0000\u0001binary\n'))).toContain('binary data');
    const quote = await refusal('phone,first_name\n+14155550101,"Secret value never closed\n');
    expect(quote).toContain('never closed');
    expect(quote).not.toContain('Secret');
  });

  it('treats placeholders named like object properties as columns, and blank cells as missing', async () => {
    const csv = 'phone,first_name,toString\n+14155550101,Ada,\n+14155550102,"  ",x\n';
    const errors = async (text: string) =>
      (await previewRecipients({ csv }, { text, optOut: '' })).rows.map((row) => row.error);
    expect(await errors('Hi {{constructor}}.')).toEqual([
      'MISSING_VARIABLE=constructor',
      'MISSING_VARIABLE=constructor',
    ]);
    expect(await errors('Hi {{__proto__}}.')).toEqual(['MISSING_VARIABLE=__proto__', 'MISSING_VARIABLE=__proto__']);
    expect(await errors('Hi {{toString}}.')).toEqual(['MISSING_VARIABLE=toString', null]);
    expect(await errors('Hi {{first_name}}.')).toEqual([null, 'MISSING_VARIABLE=first_name']);
    const proto = await previewRecipients(
      { csv: 'phone,__proto__\n+14155550101,Ada\n' },
      { text: 'Hi {{__proto__}}.', optOut: '' },
    );
    expect(proto.rows.map((row) => [row.error, row.text])).toEqual([[null, 'Hi Ada.']]);
    expect(Object.entries(proto.valid[0]!.variables)).toEqual([['__proto__', 'Ada']]);
  });
});
