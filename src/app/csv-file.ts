import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import iconv from 'iconv-lite';

/**
 * How an uploaded recipients file is turned into text before it is parsed as CSV. Excel on Windows writes CSV in
 * Windows-1252 ("José" as the single byte E9); Excel's "CSV UTF-8" and most other tools write UTF-8, often with a
 * byte-order mark; "Unicode text" is UTF-16 with a BOM. The order: a BOM decides; else bytes that are valid UTF-8
 * are UTF-8; else Windows-1252 (the superset of Latin-1 that Excel means). The preview names the decoding used.
 */

export type CsvEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export const ENCODING_LABELS: Record<CsvEncoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16 (little-endian)',
  'utf-16be': 'UTF-16 (big-endian)',
  'windows-1252': 'Windows-1252 (Western European, as Excel on Windows saves CSV)',
};

export interface DecodedCsv {
  encoding: CsvEncoding;
  chunks: AsyncIterable<string>;
}

/** A file-level refusal: the whole file is refused with a code and a message saying what to do. */
export class CsvFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CsvFileError';
  }
}

const SAVE_AS_CSV = 'Choose a CSV export of the list instead (in Excel: File › Save As › CSV UTF-8).';
const SIGNATURES: { bytes: number[]; kind: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], kind: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], kind: 'a JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], kind: 'a GIF image' },
  { bytes: [0x25, 0x50, 0x44, 0x46], kind: 'a PDF document' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], kind: 'an Excel workbook (.xlsx) or another zip archive' },
  { bytes: [0xd0, 0xcf, 0x11, 0xe0], kind: 'an old Excel workbook (.xls)' },
];

function bomOf(head: Buffer): { encoding: CsvEncoding; length: number } | null {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/** What a file plainly is when its first bytes say so (an image, a workbook, …); null for anything else. */
export function binaryKindOf(head: Buffer): string | null {
  return SIGNATURES.find(({ bytes }) => bytes.every((byte, index) => head[index] === byte))?.kind ?? null;
}

/** Refuses what is plainly not text (an image, a workbook, any file with NUL bytes) without echoing its bytes. */
function refuseBinary(head: Buffer): void {
  const kind = binaryKindOf(head);
  const known = kind ? { kind } : null;
  if (known) throw new CsvFileError('NOT_CSV', `This file is not a CSV: it is ${known.kind}. ${SAVE_AS_CSV}`);
  if (head.subarray(0, 8192).includes(0)) {
    throw new CsvFileError('NOT_CSV', `This file is not a CSV: it holds binary data, not text. ${SAVE_AS_CSV}`);
  }
}

/** Valid UTF-8, allowing the first bytes of a character cut off at the end of a chunk. */
function looksUtf8(head: Buffer, complete: boolean): boolean {
  if (isUtf8(head)) return true;
  if (complete) return false;
  for (let cut = 1; cut <= 3 && cut < head.length; cut++) if (isUtf8(head.subarray(0, head.length - cut))) return true;
  return false;
}

function detect(head: Buffer, complete: boolean): { encoding: CsvEncoding; bom: number } {
  const bom = bomOf(head);
  if (bom) return { encoding: bom.encoding, bom: bom.length };
  refuseBinary(head);
  return { encoding: looksUtf8(head, complete) ? 'utf-8' : 'windows-1252', bom: 0 };
}

/**
 * The file as text. A whole buffer is checked whole; a stream of bytes is judged on its first 64 KB (a stream of
 * strings is already text).
 */
export async function decodeCsv(source: Readable | Buffer | string): Promise<DecodedCsv> {
  if (typeof source === 'string') return { encoding: 'utf-8', chunks: once(source.replace(/^\ufeff/, '')) };
  if (Buffer.isBuffer(source)) {
    const { encoding, bom } = detect(source, true);
    return { encoding, chunks: once(iconv.decode(source.subarray(bom), encoding, { stripBOM: false })) };
  }
  const iterator = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let pending: string | null = null;
  while (head.length < 65_536) {
    const next = await iterator.next();
    if (next.done) break;
    if (typeof next.value === 'string') {
      pending = next.value;
      break;
    }
    head = Buffer.concat([head, next.value]);
  }
  if (pending !== null) {
    return { encoding: 'utf-8', chunks: rest(iterator, [pending.replace(/^\ufeff/, '')], null) };
  }
  const complete = head.length < 65_536;
  const { encoding, bom } = detect(head, complete);
  const decoder = iconv.getDecoder(encoding, { stripBOM: false });
  return { encoding, chunks: rest(iterator, [decoder.write(head.subarray(bom))], decoder) };
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

async function* rest(
  iterator: AsyncIterator<Buffer | string>,
  first: string[],
  decoder: { write(chunk: Buffer): string; end(): string | undefined } | null,
): AsyncIterable<string> {
  yield* first;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    yield typeof next.value === 'string' || !decoder ? String(next.value) : decoder.write(next.value);
  }
  const tail = decoder?.end();
  if (tail) yield tail;
}

/** The separator of the header line: a comma, or the semicolon or tab that European Excel and "text" exports use. */
export function sniffDelimiter(firstChunk: string): ',' | ';' | '\t' {
  const header = firstChunk.split(/\r?\n/, 20).find((line) => line.trim() !== '') ?? '';
  const line = header.replace(/"[^"]*"/g, '');
  const count = (separator: string) => line.split(separator).length - 1;
  const [best] = ([',', ';', '\t'] as const).map((d) => [d, count(d)] as const).sort((a, b) => b[1] - a[1]);
  return best && best[1] > 0 ? best[0] : ',';
}
