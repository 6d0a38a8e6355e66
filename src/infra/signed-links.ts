import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.ts';
import { cachedServerSecret } from './server-secrets.ts';

/**
 * The in-app messaging window's links (F6): `/m/<token>`, the token naming the account, the message and the
 * consumer, with its expiry, signed (HMAC-SHA256 with this installation's secret). Nothing in it is personal data.
 */

export interface WindowLink {
  accountId: string;
  messageId: string;
  consumerRef: string;
  /** Unix seconds. */
  expiresAt: number;
}

export type LinkCheck = { ok: true; link: WindowLink } | { ok: false; why: 'forged' | 'expired' };

export class LinkSigner {
  private readonly secret: () => Promise<Buffer>;

  constructor(db: Db) {
    this.secret = cachedServerSecret(db, 'inapp-link-hmac');
  }

  async sign(link: Omit<WindowLink, 'expiresAt'>, now: Date, ttlSeconds: number): Promise<string> {
    const payload = Buffer.from(
      JSON.stringify({
        a: link.accountId,
        m: link.messageId,
        r: link.consumerRef,
        e: Math.floor(now.getTime() / 1000) + ttlSeconds,
      }),
    ).toString('base64url');
    return `${payload}.${await this.mac(payload)}`;
  }

  async check(token: string, now: Date): Promise<LinkCheck> {
    const match = /^([A-Za-z0-9_-]{1,1000})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return { ok: false, why: 'forged' };
    const expected = Buffer.from(await this.mac(match[1]!));
    const given = Buffer.from(match[2]!);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, why: 'forged' };
    let parsed: { a?: unknown; m?: unknown; r?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, why: 'forged' };
    }
    const { a, m, r, e } = parsed;
    if (typeof a !== 'string' || typeof m !== 'string' || typeof r !== 'string' || typeof e !== 'number') {
      return { ok: false, why: 'forged' };
    }
    if (e * 1000 <= now.getTime()) return { ok: false, why: 'expired' };
    return { ok: true, link: { accountId: a, messageId: m, consumerRef: r, expiresAt: e } };
  }

  private async mac(payload: string): Promise<string> {
    return createHmac('sha256', await this.secret())
      .update(payload)
      .digest('base64url');
  }
}
