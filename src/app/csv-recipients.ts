import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { readRecipientNumber } from '../domain/phone-input.ts';
import { placeholdersOf, renderSms, SMS_MAX_LENGTH, smsLength, withOptOut } from '../domain/sms.ts';
import { type CsvEncoding, CsvFileError, decodeCsv, sniffDelimiter } from './csv-file.ts';

export { CsvFileError } from './csv-file.ts';

export const MAX_UPLOAD_ROWS = 10_000;
const PHONE_HEADERS = ['phone', 'phonenumber', 'phone_number', 'number', 'mobile', 'msisdn', 'sms', 'to'];
const MAX_FIELD = 65_536;

export interface PreviewRow {
  /** The row as a spreadsheet numbers it: the header is row 1, and blank lines count. */
  row: number;
  /** The whole row, and its number cell as written. */
  input: string;
  written: string;
  phone: string | null;
  text: string | null;
  error: string | null;
}

export interface RecipientsPreview {
  columns: string[];
  rows: PreviewRow[];
  /** The recipients that will be sent, in order. */
  valid: { phone: string; variables: Record<string, string> }[];
  /** Recipient rows read (blank rows and the header left out). */
  total: number;
  errors: number;
  /** How the file's bytes were read as text; null for typed numbers. */
  encoding: CsvEncoding | null;
  delimiter: string | null;
  /** The country national-format numbers were read with (null: they are refused as COUNTRY_CODE_MISSING). */
  defaultCountry: string | null;
  /** Set when the whole list is refused (TOO_MANY_ROWS, NO_RECIPIENTS): nothing can be published from it. */
  refused: { code: string; message: string } | null;
}

interface Template {
  text: string;
  optOut: string;
}

/**
 * What a row's message takes from its columns and the message it makes, or the row's per-consumer code. The SMS
 * text is one (smsRowMessage); a WhatsApp template another (the web wizard's).
 */
export interface RowMessage {
  /** The variables the message uses; a row's other columns are dropped. */
  variables: string[];
  /** Columns found by their name only (a header's media URL): they take no position after the phone. */
  namedOnly?: string[];
  render(values: Record<string, string>): { ok: true; text: string } | { ok: false; error: string };
}

/** An SMS text: every placeholder needs a value (an empty cell is none), and the whole must fit 140 characters. */
export function smsRowMessage(template: Template): RowMessage {
  const used = placeholdersOf(template.text);
  return {
    variables: used,
    render(values) {
      // An empty cell (or a column the file lacks) is no value: "Hi , your order…" must never go out.
      // Own properties only: a column named like an object's property ({{constructor}}) is a column like any other.
      const empty = used.find((name) => !Object.hasOwn(values, name) || values[name]!.trim() === '');
      if (empty !== undefined) return { ok: false, error: `MISSING_VARIABLE=${empty}` };
      const rendered = renderSms(template.text, values);
      if (!rendered.ok) return rendered;
      if (smsLength(rendered.text, template.optOut) > SMS_MAX_LENGTH) return { ok: false, error: 'SMS_TOO_LONG' };
      return { ok: true, text: withOptOut(rendered.text, template.optOut) };
    },
  };
}

const rows = (count: number) => `${count.toLocaleString('en-US')} ${count === 1 ? 'row' : 'rows'}`;

/**
 * F10: recipients from a CSV upload or typed numbers. A file's first row names the columns: the phone column by
 * name (phone, number, mobile…) or else the first; every other column becomes a variable, by its name
 * (`{{first_name}}`) and by position after the phone (`${{1}}`, `{{2}}`…). Each row is checked and rendered; bad
 * rows never block good ones, but a list over the limit is refused whole. Rows are read as a stream, so memory
 * stays flat whatever the file's size; only the preview rows shown are kept. File-level problems (not a CSV,
 * unreadable) throw CsvFileError.
 */
export async function previewRecipients(
  source: { csv?: Readable | Buffer | string; typed?: string },
  template: Template | RowMessage,
  options: { keepRows?: number; maxRows?: number; defaultCountry?: string | null } = {},
): Promise<RecipientsPreview> {
  const keepRows = options.keepRows ?? 200;
  const maxRows = options.maxRows ?? MAX_UPLOAD_ROWS;
  const defaultCountry = options.defaultCountry ?? null;
  const result: RecipientsPreview = {
    columns: [],
    rows: [],
    valid: [],
    total: 0,
    errors: 0,
    encoding: null,
    delimiter: null,
    defaultCountry,
    refused: null,
  };
  const seen = new Set<string>();
  const message = 'render' in template ? template : smsRowMessage(template);
  // Only the columns the message uses travel with a recipient (the others are allowed, and dropped).
  const used = message.variables;
  const namedOnly = new Set(message.namedOnly ?? []);

  const take = (row: number, input: string, rawPhone: string, variables: Record<string, string>) => {
    result.total += 1;
    // Past the limit the list is refused whole; the rest is only counted, so the refusal can say how many.
    if (result.total > maxRows) return;
    let phone: string | null = null;
    let text: string | null = null;
    let error: string | null = null;
    if (!rawPhone.trim()) error = 'MISSING_NUMBER';
    else {
      const reading = readRecipientNumber(rawPhone, defaultCountry);
      if (!reading.ok) error = reading.error;
      else {
        phone = reading.e164;
        if (seen.has(reading.e164)) error = 'DUPLICATE_NUMBER';
        else if (reading.lineType === 'FIXED_LINE') error = 'LANDLINE';
      }
    }
    // No prototype: a column named __proto__ or constructor is data, like any other column.
    const picked: Record<string, string> = Object.create(null);
    for (const name of used) if (Object.hasOwn(variables, name)) picked[name] = variables[name]!;
    if (!error) {
      const rendered = message.render(picked);
      if (rendered.ok) text = rendered.text;
      else error = rendered.error;
    }
    if (error) result.errors += 1;
    else {
      seen.add(phone!);
      result.valid.push({ phone: phone!, variables: picked });
    }
    // The preview shows the first rows, and every row with an error up to the same bound.
    if (result.rows.length < keepRows || (error && result.rows.length < keepRows * 2)) {
      result.rows.push({ row, input, written: rawPhone, phone, text, error });
    }
  };

  const finish = (what: string) => {
    if (result.total > maxRows) {
      result.refused = {
        code: 'TOO_MANY_ROWS',
        message: `The ${what} has ${rows(result.total)} of recipients; a campaign takes at most ${rows(maxRows)}, so none of them can be sent. Split it into lists of at most ${maxRows.toLocaleString('en-US')} and make one campaign for each.`,
      };
    } else if (result.total === 0) {
      result.refused = {
        code: 'NO_RECIPIENTS',
        message:
          what === 'file' && result.columns.length > 0
            ? `The file has no recipients: it has a header row (${result.columns.join(', ')}) but no rows below it.`
            : `The ${what} has no recipients: it is empty.`,
      };
    }
    if (result.refused) {
      result.rows = [];
      result.valid = [];
      result.errors = 0;
    }
    return result;
  };

  if (source.csv === undefined) {
    result.columns = ['phone'];
    for (const [index, line] of (source.typed ?? '').split(/\r?\n/).entries()) {
      if (line.trim() === '') continue;
      take(index + 1, line.trim(), line.trim(), {});
    }
    return finish('list of numbers');
  }

  const decoded = await decodeCsv(source.csv);
  result.encoding = decoded.encoding;
  const chunks = decoded.chunks[Symbol.asyncIterator]();
  const first = await chunks.next();
  const firstText = first.done ? '' : first.value;
  result.delimiter = sniffDelimiter(firstText);
  const parser = parse({
    delimiter: result.delimiter,
    relax_column_count: true,
    relax_quotes: true,
    // Blank lines are kept (and passed over below) so that rows are numbered as a spreadsheet numbers them.
    skip_empty_lines: false,
    trim: true,
    max_record_size: MAX_FIELD,
  });
  const feed = async () => {
    if (firstText && !parser.write(firstText)) await once(parser, 'drain');
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      if (!parser.write(next.value)) await once(parser, 'drain');
    }
    parser.end();
  };
  void feed().catch((error: Error) => parser.destroy(error));

  let header: string[] | null = null;
  let phoneIndex = 0;
  let line = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      line += 1;
      if (record.every((cell) => cell === '')) continue;
      if (!header) {
        header = record.map((name) => name.trim());
        const named = header.findIndex((name) => PHONE_HEADERS.includes(name.toLowerCase().replace(/[\s-]/g, '')));
        phoneIndex = Math.max(named, 0);
        result.columns = header;
        continue;
      }
      if (result.total >= maxRows) {
        result.total += 1;
        continue;
      }
      const variables: Record<string, string> = Object.create(null);
      let position = 0;
      for (const [index, name] of header.entries()) {
        if (index === phoneIndex) continue;
        if (namedOnly.has(name.toLowerCase())) {
          if (index < record.length) variables[name.toLowerCase()] = record[index]!;
          continue;
        }
        position += 1;
        // A row shorter than the header lacks those columns: a text that uses one reports MISSING_VARIABLE.
        if (index >= record.length) continue;
        const value = record[index]!;
        variables[String(position)] = value;
        if (name && !/^\d+$/.test(name)) variables[name] = value;
      }
      take(line, record.join(', '), record[phoneIndex] ?? '', variables);
    }
  } catch (error) {
    // Only the parser's own errors say the file is unreadable; anything else is a fault of ours, and propagates.
    if (error instanceof CsvError) throw unreadable(error, line);
    throw error;
  }
  return finish('file');
}

/** csv-parse's own messages quote the file's bytes; ours name the row and what to do. */
function unreadable(error: CsvError, line: number): CsvFileError {
  const row = line + 1;
  const code = error.code;
  if (code === 'CSV_QUOTE_NOT_CLOSED') {
    return new CsvFileError(
      'CSV_UNREADABLE',
      `The file could not be read as CSV: a quoted field opened on row ${row} or later is never closed. Check the quotes (") on that row, or export the list again.`,
    );
  }
  if (code === 'CSV_INVALID_CLOSING_QUOTE' || code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE') {
    return new CsvFileError(
      'CSV_UNREADABLE',
      `The file could not be read as CSV: row ${row} has text after a closing quote ("). Put the whole field in quotes and write a quote inside it as "".`,
    );
  }
  if (code === 'CSV_MAX_RECORD_SIZE') {
    return new CsvFileError(
      'CSV_UNREADABLE',
      `The file could not be read as CSV: row ${row} is longer than ${MAX_FIELD.toLocaleString('en-US')} characters.`,
    );
  }
  return new CsvFileError(
    'CSV_UNREADABLE',
    `The file could not be read as CSV near row ${row}. Export the list again as CSV (comma-separated values).`,
  );
}
