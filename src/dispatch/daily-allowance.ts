import type { Channel } from '../domain/account-settings.ts';
import type { Db } from '../infra/db.ts';

/**
 * The daily cap (F15; LivePerson: 100,000 recipients a day per channel per account), counted in Postgres so that
 * all workers share it, but taken in blocks of 100: one shared row updated per message would make every send of
 * an account wait on the same row lock. A unit taken for a message that was not sent goes back to this worker's
 * block.
 */
export class DailyAllowance {
  private readonly blocks = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly cap: number,
  ) {}

  async take(accountId: string, channel: Channel, now: Date): Promise<boolean> {
    const day = now.toISOString().slice(0, 10);
    const key = `${accountId}|${channel}|${day}`;
    const left = this.blocks.get(key) ?? 0;
    if (left > 0) {
      this.blocks.set(key, left - 1);
      return true;
    }
    const block = Math.min(100, this.cap);
    const { rows } = await this.db.raw(
      `insert into daily_send_counters (account_id, channel, day, count) values (?, ?, ?, ?)
       on conflict (account_id, channel, day) do update set count = daily_send_counters.count + excluded.count
       returning count`,
      [accountId, channel, day, block],
    );
    const granted = Math.max(0, Math.min(block, this.cap - (Number(rows[0].count) - block)));
    if (granted === 0) return false;
    // Days gone by are of no more use: the map holds today's blocks only.
    for (const other of this.blocks.keys()) if (!other.endsWith(day)) this.blocks.delete(other);
    this.blocks.set(key, (this.blocks.get(key) ?? 0) + granted - 1);
    return true;
  }

  giveBack(accountId: string, channel: Channel, now: Date): void {
    const key = `${accountId}|${channel}|${now.toISOString().slice(0, 10)}`;
    this.blocks.set(key, (this.blocks.get(key) ?? 0) + 1);
  }
}
