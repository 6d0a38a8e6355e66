import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parsePhone, placeholdersOf, renderSms, SMS_MAX_LENGTH, smsLength, withOptOut } from '../domain/sms.ts';

export const MAX_UPLOAD_ROWS = 10_000;
const PHONE_HEADERS = ['phone', 'phonenumber', 'phone_number', 'number', 'mobile', 'msisdn', 'sms', 'to'];

export interface PreviewRow {
  /** 1-based, as a spreadsheet shows it (the header is row 1 of a file). */
  row: number;
  input: string;
  phone: string | null;
  text: string | null;
  error: string | null;
}

export interface RecipientsPreview {
  columns: string[];
  rows: PreviewRow[];
  /** The recipients that will be sent, in order. */
  valid: { phone: string; variables: Record<string, string> }[];
  total: number;
  errors: number;
  /** Rows beyond the limit, refused as a whole with TOO_MANY_ROWS. */
  overflow: number;
}

interface Template {
  text: string;
  optOut: string;
}

/**
 * F10: recipients from a CSV upload (csv-parse: BOM, CRLF, quoted fields with commas and newlines, ragged rows)
 * or typed numbers. A file's first row names the columns: the phone column by name (phone, number, mobile…) or
 * else the first; every other column becomes a variable, by its name (`{{first_name}}`) and by position after
 * the phone (`${{1}}`, `{{2}}`…). Each row is checked and rendered; bad rows never block good ones. Rows are read
 * as a stream, so memory stays flat whatever the file's size; only the preview rows shown are kept.
 */
export async function previewRecipients(
  source: { csv?: Readable | Buffer | string; typed?: string },
  template: Template,
  options: { keepRows?: number; maxRows?: number } = {},
): Promise<RecipientsPreview> {
  const keepRows = options.keepRows ?? 200;
  const maxRows = options.maxRows ?? MAX_UPLOAD_ROWS;
  const result: RecipientsPreview = { columns: [], rows: [], valid: [], total: 0, errors: 0, overflow: 0 };
  const seen = new Set<string>();
  // Only the columns the text uses travel with a recipient (the others are allowed, and dropped).
  const used = placeholdersOf(template.text);

  const take = (row: number, input: string, rawPhone: string, variables: Record<string, string>) => {
    result.total += 1;
    if (result.total > maxRows) {
      result.overflow += 1;
      return;
    }
    let phone: string | null = null;
    let text: string | null = null;
    let error: string | null = null;
    if (!rawPhone.trim()) error = 'MISSING_NUMBER';
    else {
      const parsed = parsePhone(rawPhone);
      phone = parsed?.e164 ?? null;
      if (!parsed) error = 'INVALID_NUMBER';
      else if (seen.has(parsed.e164)) error = 'DUPLICATE_NUMBER';
      else if (parsed.lineType === 'FIXED_LINE') error = 'LANDLINE';
    }
    const picked = Object.fromEntries(
      used.filter((name) => Object.hasOwn(variables, name)).map((name) => [name, variables[name]!]),
    );
    if (!error) {
      const rendered = renderSms(template.text, picked);
      if (!rendered.ok) error = rendered.error;
      else if (smsLength(rendered.text, template.optOut) > SMS_MAX_LENGTH) error = 'SMS_TOO_LONG';
      else text = withOptOut(rendered.text, template.optOut);
    }
    if (error) result.errors += 1;
    else {
      seen.add(phone!);
      result.valid.push({ phone: phone!, variables: picked });
    }
    // The preview shows the first rows, and every row with an error up to the same bound.
    if (result.rows.length < keepRows || (error && result.rows.length < keepRows * 2)) {
      result.rows.push({ row, input, phone, text, error });
    }
  };

  if (source.typed?.trim()) {
    result.columns = ['phone'];
    for (const [index, line] of source.typed.split(/\r?\n/).entries()) {
      if (line.trim() === '') continue;
      take(index + 1, line.trim(), line.trim(), {});
    }
    return result;
  }
  if (source.csv === undefined) return result;

  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    max_record_size: 64 * 1024,
  });
  const feed = async () => {
    if (typeof source.csv === 'string' || Buffer.isBuffer(source.csv)) parser.end(source.csv);
    else source.csv!.pipe(parser);
  };
  void feed();
  let header: string[] | null = null;
  let phoneIndex = 0;
  let line = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    line += 1;
    if (!header) {
      header = record.map((name) => name.trim());
      const named = header.findIndex((name) => PHONE_HEADERS.includes(name.toLowerCase().replace(/[\s-]/g, '')));
      phoneIndex = Math.max(named, 0);
      result.columns = header;
      continue;
    }
    const variables: Record<string, string> = {};
    let position = 0;
    for (const [index, name] of header.entries()) {
      if (index === phoneIndex) continue;
      position += 1;
      // A row shorter than the header lacks those columns: a text that uses one reports MISSING_VARIABLE.
      if (index >= record.length) continue;
      const value = record[index]!;
      variables[String(position)] = value;
      if (name && !/^\d+$/.test(name)) variables[name] = value;
    }
    take(line, record.join(', '), record[phoneIndex] ?? '', variables);
  }
  return result;
}
