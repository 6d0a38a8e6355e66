import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Db } from './db.ts';

/**
 * Consumer refs and sealed payloads (DESIGN §2). A ref is an HMAC of the account and the E.164 number, so the
 * same number is the same consumer within an account and unlinkable across accounts. Payloads are sealed with the
 * consumer's own AES-256-GCM key; deleting the key (erasure) makes every sealed copy unreadable.
 */

const FORMAT = 'v1';

export class ConsumerKeyErasedError extends Error {
  constructor(readonly consumerRef: string) {
    super(`The personal data of consumer ${consumerRef} was erased`);
    this.name = 'ConsumerKeyErasedError';
  }
}

export function seal(key: Buffer, payload: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return [
    FORMAT,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

export function open<T>(key: Buffer, sealed: string): T {
  const [format, iv, tag, ciphertext] = sealed.split('.');
  if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('Not a sealed payload');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plaintext.toString('utf8')) as T;
}

/** Keys and the ref secret, cached in memory for the dispatch hot path. */
export class PersonalData {
  private refSecret: Buffer | null = null;
  private readonly keys = new Map<string, Buffer>();

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

  /** Makes sure each consumer has a key (one insert and one select for the whole batch); returns them by ref. */
  async ensureKeys(accountId: string, refs: string[]): Promise<Map<string, Buffer>> {
    const missing = [...new Set(refs)].filter((ref) => !this.keys.has(`${accountId}:${ref}`));
    for (let start = 0; start < missing.length; start += 1000) {
      const chunk = missing.slice(start, start + 1000);
      await this.db('consumer_keys')
        .insert(chunk.map((ref) => ({ account_id: accountId, consumer_ref: ref, key: randomBytes(32) })))
        .onConflict(['account_id', 'consumer_ref'])
        .ignore();
      const rows = await this.db('consumer_keys')
        .where({ account_id: accountId })
        .whereIn('consumer_ref', chunk)
        .select('consumer_ref', 'key');
      for (const row of rows) {
        if (row.key) this.keys.set(`${accountId}:${row.consumer_ref}`, row.key as Buffer);
      }
    }
    const result = new Map<string, Buffer>();
    for (const ref of refs) {
      const key = this.keys.get(`${accountId}:${ref}`);
      if (!key) throw new ConsumerKeyErasedError(ref);
      result.set(ref, key);
    }
    return result;
  }

  async sealFor(accountId: string, ref: string, payload: unknown): Promise<string> {
    const keys = await this.ensureKeys(accountId, [ref]);
    return seal(keys.get(ref)!, payload);
  }

  /** Opens a sealed payload; throws ConsumerKeyErasedError when the consumer was erased. */
  async openFor<T>(accountId: string, ref: string, sealed: string): Promise<T> {
    let key = this.keys.get(`${accountId}:${ref}`);
    if (!key) {
      const row = await this.db('consumer_keys').where({ account_id: accountId, consumer_ref: ref }).first('key');
      if (!row?.key) throw new ConsumerKeyErasedError(ref);
      key = row.key as Buffer;
      this.keys.set(`${accountId}:${ref}`, key);
    }
    return open<T>(key, sealed);
  }
}
