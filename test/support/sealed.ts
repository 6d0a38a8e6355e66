import { campaignOfSealed, open } from '../../src/infra/personal-data.ts';
import type { TestApp } from './app.ts';

/**
 * Scans for personal data (F14 tests): every row of every table and every event as text, and every sealed
 * payload in them opened with every key still held (a consumer's key alone, or with its campaign's key).
 */

/** Every row of every table in the schema, as JSON text, by table. */
export async function everyTable(running: TestApp): Promise<Map<string, string[]>> {
  const tables: { table_name: string }[] = await running.app
    .db('information_schema.tables')
    .where({ table_schema: 'public', table_type: 'BASE TABLE' })
    .select('table_name');
  const result = new Map<string, string[]>();
  for (const { table_name } of tables) {
    const { rows } = await running.app.db.raw('select row_to_json(t)::text as row from ?? t', [table_name]);
    result.set(
      table_name,
      rows.map((row: { row: string }) => row.row),
    );
  }
  return result;
}

export async function everyEvent(running: TestApp): Promise<string[]> {
  const texts: string[] = [];
  let from = null;
  for (;;) {
    const batch = await running.app.store.readAll(from, 1000);
    if (batch.length === 0) return texts;
    for (const event of batch) texts.push(JSON.stringify({ data: event.data, metadata: event.metadata }));
    from = batch[batch.length - 1]!.position;
  }
}

/** Opens every sealed payload found in the texts with every key still held; answers what opened. */
export async function decryptAll(running: TestApp, texts: string[]): Promise<string[]> {
  const keys = (await running.app.db('consumer_keys').whereNotNull('key').pluck('key')) as Buffer[];
  const campaignKeys = new Map<string, Buffer>(
    (await running.app.db('campaign_keys').whereNotNull('key').select('campaign_id', 'key')).map((row) => [
      row.campaign_id as string,
      row.key as Buffer,
    ]),
  );
  const opened: string[] = [];
  for (const text of texts) {
    for (const sealed of text.match(/v1\.[\w-]+\.[\w-]+\.[\w-]+|v2\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+/g) ?? []) {
      const campaignId = campaignOfSealed(sealed);
      const campaignKey = campaignId ? campaignKeys.get(campaignId) : undefined;
      if (campaignId && !campaignKey) continue;
      for (const key of keys) {
        try {
          opened.push(JSON.stringify(open(key, sealed, campaignKey)));
        } catch {
          // not this key's
        }
      }
    }
  }
  return opened;
}

export function findings(texts: string[], needles: string[]): string[] {
  return texts.flatMap((text) => needles.filter((needle) => text.includes(needle)).map((needle) => needle));
}
