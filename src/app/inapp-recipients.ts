import { parse } from 'csv-parse/sync';
import { binaryKindOf, CsvFileError, decodeCsv, sniffDelimiter } from './csv-file.ts';

/**
 * The web wizard's In-App list (F6): a CSV whose header names a `consumerId` column (the brand's consumer ids, as its
 * app registers devices with); every other column is a variable of that consumer's message.
 */
const ID_COLUMNS = ['consumerid', 'consumer_id', 'consumer id', 'id'];

export async function inAppRecipientsFromCsv(
  file: Buffer,
): Promise<{ consumerId: string; variables: Record<string, string> }[]> {
  const kind = binaryKindOf(file);
  if (kind) throw new CsvFileError('NOT_CSV', `This is ${kind}, not a CSV file.`);
  let text = '';
  for await (const chunk of (await decodeCsv(file)).chunks) text += chunk;
  const rows = parse(text, {
    delimiter: sniffDelimiter(text.slice(0, 4096)),
    skip_empty_lines: true,
    relax_column_count: true,
    trim: true,
  }) as string[][];
  const header = rows[0]?.map((name) => name.trim()) ?? [];
  const idColumn = header.findIndex((name) => ID_COLUMNS.includes(name.toLowerCase()));
  if (idColumn < 0) throw new CsvFileError('NO_CONSUMER_ID_COLUMN', 'The first line must name a consumerId column.');
  return rows.slice(1).map((row) => ({
    consumerId: row[idColumn] ?? '',
    variables: Object.fromEntries(
      header.flatMap((name, index) => (index === idColumn || !name ? [] : [[name, row[index] ?? '']])),
    ),
  }));
}
