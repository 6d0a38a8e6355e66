import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { BoundedMap } from './bounded-map.ts';
import type { Db } from './db.ts';

/**
 * Consumer refs and sealed payloads (DESIGN §2). A ref is an HMAC of the account and the E.164 number, so the
 * same number is the same consumer within an account and unlinkable across accounts. Payloads are sealed with the
 * consumer's own AES-256-GCM key; deleting the key (erasure) makes every sealed copy unreadable.
 */

const FORMAT = 'v1';
/**
 * A campaign's copy of a consumer's data (`v2.<campaignId>.…`) is sealed with a key derived from both the
 * consumer's key and the campaign's: erasing the consumer, or shredding the campaign at the end of the account's
 * retention period, makes it unreadable.
 */
const CAMPAIGN_FORMAT = 'v2';

export class ConsumerKeyErasedError extends Error {
  constructor(
    readonly consumerRef: string,
    message = `The personal data of consumer ${consumerRef} was erased`,
  ) {
    super(message);
    this.name = 'ConsumerKeyErasedError';
  }
}

/** A campaign's copy of the consumer's data was shredded at the end of the retention period (read as erased). */
export class CampaignDataShreddedError extends ConsumerKeyErasedError {
  constructor(
    consumerRef: string,
    readonly campaignId: string,
  ) {
    super(consumerRef, `The personal data of campaign ${campaignId} was shredded (retention period)`);
    this.name = 'CampaignDataShreddedError';
  }
}

/** The key of one consumer's data within one campaign. */
export function campaignRecipientKey(consumerKey: Buffer, campaignKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', consumerKey, campaignKey, 'outbound campaign recipient', 32));
}

/** The campaign a sealed payload belongs to (`v2`), or null (`v1`: the consumer's key alone). */
export function campaignOfSealed(sealed: string): string | null {
  if (!sealed.startsWith(`${CAMPAIGN_FORMAT}.`)) return null;
  return sealed.split('.')[1] || null;
}

export function seal(key: Buffer, payload: unknown, campaignId?: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return [
    ...(campaignId ? [CAMPAIGN_FORMAT, campaignId] : [FORMAT]),
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

/** Opens with the consumer's key (`v1`), or with the key derived from it and the campaign's (`v2`). */
export function open<T>(key: Buffer, sealed: string, campaignKey?: Buffer): T {
  const parts = sealed.split('.');
  const campaignId = campaignOfSealed(sealed);
  if (campaignId) {
    if (!campaignKey) throw new Error('A campaign’s sealed payload needs the campaign’s key');
    parts.splice(0, 2, FORMAT);
    return open<T>(campaignRecipientKey(key, campaignKey), parts.join('.'));
  }
  const [format, iv, tag, ciphertext] = parts;
  if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('Not a sealed payload');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plaintext.toString('utf8')) as T;
}

/**
 * How long a key cached by one process may outlive its erasure by another (ROLE=web erases, ROLE=worker sends):
 * each process looks for new erasures at most this often before it trusts its cache. An erasure waits this long
 * before it is acknowledged, so that no process can still open the consumer's data afterwards.
 */
export const KEY_CACHE_STALENESS_MS = 1000;

/**
 * Keys and the ref secret, cached in memory for the dispatch hot path. An erased consumer's key row stays, with
 * no key and `erased_at` set; a later contact (a new campaign, a reply) gives them a new key, which cannot open
 * anything sealed before the erasure.
 */
export class PersonalData {
  private refSecret: Buffer | null = null;
  /** Consumers' keys this process used lately: bounded by count (~10 MB), whatever the campaigns' sizes. */
  private readonly keys = new BoundedMap<string, Buffer>(50_000);
  /** Campaigns' keys this process used lately, bounded the same way. */
  private readonly campaignKeys = new BoundedMap<string, Buffer>(5_000);
  /** The newest erasure this process has seen (max erased_at), and when it last looked. */
  private erasureMark: string | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | null = null;
  /** Bumped whenever the cache is cleared, so a key read before an erasure is not cached after it. */
  private generation = 0;

  constructor(private readonly db: Db) {}

  private async secret(): Promise<Buffer> {
    if (this.refSecret) return this.refSecret;
    await this.db('server_secrets')
      .insert({ name: 'consumer-ref-hmac', value: randomBytes(32) })
      .onConflict('name')
      .ignore();
    const row = await this.db('server_secrets').where({ name: 'consumer-ref-hmac' }).first('value');
    this.refSecret = row.value as Buffer;
    return this.refSecret;
  }

  async consumerRef(accountId: string, e164: string): Promise<string> {
    return createHmac('sha256', await this.secret())
      .update(`${accountId}:${e164}`)
      .digest('hex')
      .slice(0, 40);
  }

  /** The ref of an in-app consumer (F6), by the brand's consumer id; never equal to a phone number's ref. */
  inAppConsumerRef(accountId: string, consumerId: string): Promise<string> {
    return this.consumerRef(accountId, `inapp:${consumerId}`);
  }

  /** Clears the cache when another process erased someone since the last look (at most every STALENESS ms). */
  private async dropErasedFromCache(): Promise<void> {
    const started = Date.now();
    if (started - this.checkedAt < KEY_CACHE_STALENESS_MS) return;
    this.checking ??= (async () => {
      try {
        const { rows } = await this.db.raw(
          `select (select max(erased_at) from consumer_keys where erased_at is not null) as erased,
                  (select max(shredded_at) from campaign_keys where shredded_at is not null) as shredded`,
        );
        const marks = [rows[0]?.erased, rows[0]?.shredded].map((at) => (at ? new Date(at).toISOString() : '-'));
        const mark = marks.join(' ');
        if (mark !== this.erasureMark) {
          this.keys.clear();
          this.campaignKeys.clear();
          this.generation += 1;
          this.erasureMark = mark;
        }
        this.checkedAt = started;
      } finally {
        this.checking = null;
      }
    })();
    await this.checking;
  }

  /**
   * Makes sure each consumer has a key (one insert and one select per 1000), returns them by ref. An erased
   * consumer gets a new key: what was sealed before the erasure stays unreadable.
   */
  async ensureKeys(accountId: string, refs: string[]): Promise<Map<string, Buffer>> {
    await this.dropErasedFromCache();
    const generation = this.generation;
    const found = new Map<string, Buffer>();
    const missing: string[] = [];
    for (const ref of new Set(refs)) {
      const cached = this.keys.get(`${accountId}:${ref}`);
      if (cached) found.set(ref, cached);
      else missing.push(ref);
    }
    for (let start = 0; start < missing.length; start += 1000) {
      const chunk = missing.slice(start, start + 1000);
      await this.db('consumer_keys')
        .insert(chunk.map((ref) => ({ account_id: accountId, consumer_ref: ref, key: randomBytes(32) })))
        .onConflict(['account_id', 'consumer_ref'])
        .merge(['key'])
        .whereNull('consumer_keys.key');
      const rows = await this.db('consumer_keys')
        .where({ account_id: accountId })
        .whereIn('consumer_ref', chunk)
        .select('consumer_ref', 'key');
      for (const row of rows) {
        if (!row.key) continue;
        found.set(row.consumer_ref as string, row.key as Buffer);
        if (generation === this.generation) this.keys.set(`${accountId}:${row.consumer_ref}`, row.key as Buffer);
      }
    }
    const result = new Map<string, Buffer>();
    for (const ref of refs) {
      const key = found.get(ref);
      if (!key) throw new ConsumerKeyErasedError(ref);
      result.set(ref, key);
    }
    return result;
  }

  /** Seals for the consumer; with a campaign, as that campaign's copy (shredded with the campaign). */
  async sealFor(accountId: string, ref: string, payload: unknown, campaignId?: string): Promise<string> {
    const keys = await this.ensureKeys(accountId, [ref]);
    if (!campaignId) return seal(keys.get(ref)!, payload);
    const campaignKey = await this.campaignKey(accountId, campaignId, { create: true });
    if (!campaignKey) throw new CampaignDataShreddedError(ref, campaignId);
    return seal(campaignRecipientKey(keys.get(ref)!, campaignKey), payload, campaignId);
  }

  /**
   * Seals each recipient of a new campaign as the campaign's copy: one key per campaign, made here, combined with
   * each consumer's key (made if missing).
   */
  async campaignSealer(
    accountId: string,
    campaignId: string,
    refs: string[],
  ): Promise<(ref: string, payload: unknown) => string> {
    const keys = await this.ensureKeys(accountId, refs);
    const campaignKey = await this.campaignKey(accountId, campaignId, { create: true });
    if (!campaignKey) throw new Error(`Campaign ${campaignId} was shredded`);
    return (ref, payload) => seal(campaignRecipientKey(keys.get(ref)!, campaignKey), payload, campaignId);
  }

  /** The campaign's key; null once it was shredded. */
  private async campaignKey(
    accountId: string,
    campaignId: string,
    options: { create: boolean },
  ): Promise<Buffer | null> {
    const cacheKey = `${accountId}:${campaignId}`;
    const cached = this.campaignKeys.get(cacheKey);
    if (cached) return cached;
    const generation = this.generation;
    if (options.create) {
      await this.db('campaign_keys')
        .insert({ account_id: accountId, campaign_id: campaignId, key: randomBytes(32) })
        .onConflict(['account_id', 'campaign_id'])
        .ignore();
    }
    const row = await this.db('campaign_keys').where({ account_id: accountId, campaign_id: campaignId }).first('key');
    if (!row?.key) return null;
    if (generation === this.generation) this.campaignKeys.set(cacheKey, row.key as Buffer);
    return row.key as Buffer;
  }

  /**
   * Opens a sealed payload; throws ConsumerKeyErasedError when the consumer's key that sealed it was erased
   * (the key is gone, or a newer key cannot open what the erased one sealed).
   */
  async openFor<T>(accountId: string, ref: string, sealed: string): Promise<T> {
    await this.dropErasedFromCache();
    const campaignId = campaignOfSealed(sealed);
    let campaignKey: Buffer | undefined;
    if (campaignId) {
      campaignKey = (await this.campaignKey(accountId, campaignId, { create: false })) ?? undefined;
      if (!campaignKey) throw new CampaignDataShreddedError(ref, campaignId);
    }
    const cacheKey = `${accountId}:${ref}`;
    const cached = this.keys.get(cacheKey);
    if (cached) {
      try {
        return open<T>(cached, sealed, campaignKey);
      } catch {
        // Sealed under a key this process has not seen (one made after an erasure): ask the database.
        this.keys.delete(cacheKey);
      }
    }
    const generation = this.generation;
    const row = await this.db('consumer_keys')
      .where({ account_id: accountId, consumer_ref: ref })
      .first('key', 'erased_at');
    if (!row?.key) throw new ConsumerKeyErasedError(ref);
    if (generation === this.generation) this.keys.set(cacheKey, row.key as Buffer);
    try {
      return open<T>(row.key as Buffer, sealed, campaignKey);
    } catch (error) {
      if (row.erased_at) throw new ConsumerKeyErasedError(ref);
      throw error;
    }
  }

  /**
   * Retention (F14): deletes a finished campaign's key, here and (within KEY_CACHE_STALENESS_MS) in every
   * process's cache. Every recipient's copy sealed for the campaign can no longer be opened; the consumers' own
   * keys, and what other campaigns hold, stay.
   */
  async shredCampaign(accountId: string, campaignId: string): Promise<void> {
    await this.db('campaign_keys')
      .insert({ account_id: accountId, campaign_id: campaignId, key: null, shredded_at: this.db.fn.now() })
      .onConflict(['account_id', 'campaign_id'])
      .merge(['key', 'shredded_at']);
    this.campaignKeys.delete(`${accountId}:${campaignId}`);
    this.generation += 1;
  }

  /** Whether the consumer has a live key: someone the account holds personal data about. */
  async hasKey(accountId: string, ref: string): Promise<boolean> {
    const row = await this.db('consumer_keys').where({ account_id: accountId, consumer_ref: ref }).first('key');
    return Boolean(row?.key);
  }

  /**
   * Crypto-shredding: deletes the consumer's key, here and (within KEY_CACHE_STALENESS_MS) in every process's
   * cache. Every copy sealed with it, in events and read models, can no longer be opened.
   */
  async erase(accountId: string, ref: string): Promise<void> {
    await this.db('consumer_keys')
      .insert({ account_id: accountId, consumer_ref: ref, key: null, erased_at: this.db.fn.now() })
      .onConflict(['account_id', 'consumer_ref'])
      .merge(['key', 'erased_at']);
    this.keys.delete(`${accountId}:${ref}`);
    this.generation += 1;
  }
}
