import type { Db } from '../infra/db.ts';

export interface ClaimedMessage {
  accountId: string;
  messageId: string;
  campaignId: string;
}

/**
 * The dispatch queue read model feeds the workers (DESIGN §4.2). A claim sets a lease on due rows with
 * FOR UPDATE SKIP LOCKED, so any number of worker processes share the work without waiting on each other. The
 * lease only spreads work; the real lock against double sending is MessageSendStarted's expected version.
 */
export class DispatchQueue {
  constructor(private readonly db: Db) {}

  /** Accounts with due work, busiest first; the claim itself is always per account. */
  async accountsWithDueWork(now: Date): Promise<string[]> {
    const rows = await this.db('accounts as a')
      .whereExists(
        this.db('dispatch_queue as q')
          .whereRaw('q.account_id = a.account_id')
          .andWhere('q.not_before', '<=', now)
          .andWhere((due) => due.whereNull('q.lease_until').orWhere('q.lease_until', '<', now)),
      )
      .select('a.account_id');
    return rows.map((row) => row.account_id as string);
  }

  async claim(accountId: string, options: { now: Date; limit: number; leaseMs: number }): Promise<ClaimedMessage[]> {
    const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
    const { rows } = await this.db.raw(
      `update dispatch_queue q set lease_until = ?
       from (
         select account_id, message_id from dispatch_queue
         where account_id = ? and not_before <= ? and (lease_until is null or lease_until < ?)
         order by not_before
         limit ?
         for update skip locked
       ) due
       where q.account_id = due.account_id and q.message_id = due.message_id
       returning q.account_id, q.message_id, q.campaign_id`,
      [leaseUntil, accountId, options.now, options.now, options.limit],
    );
    return (rows as { account_id: string; message_id: string; campaign_id: string }[]).map((row) => ({
      accountId: row.account_id,
      messageId: row.message_id,
      campaignId: row.campaign_id,
    }));
  }

  /** Gives a claimed row back before its lease ends, to be taken again at `notBefore` (or at once). */
  async release(accountId: string, messageId: string, notBefore?: Date): Promise<void> {
    await this.db('dispatch_queue')
      .where({ account_id: accountId, message_id: messageId })
      .update({ lease_until: null, ...(notBefore ? { not_before: notBefore } : {}) });
  }
}
