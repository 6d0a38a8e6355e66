import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Db } from '../infra/db.ts';

export const TOKEN_LIFETIME_SECONDS = 3600;
const ISSUER = 'outbound';
const AUDIENCE = 'outbound-api';

/** An API client whose credentials checked out: its account and the scopes it holds. */
export interface AuthenticatedClient {
  accountId: string;
  clientId: string;
  scopes: string[];
}

/**
 * Access tokens are HS256 JWTs (jose) under a key kept in Postgres, so every process of a deployment signs and
 * verifies with the same key. The key is made on first use.
 */
export class TokenService {
  private key: { kid: string; secret: Uint8Array } | null = null;

  constructor(private readonly db: Db) {}

  private async signingKey(): Promise<{ kid: string; secret: Uint8Array }> {
    if (this.key) return this.key;
    await this.db('oauth_signing_keys')
      .insert({ kid: 'k1', secret: randomBytes(32) })
      .onConflict('kid')
      .ignore();
    const row = await this.db('oauth_signing_keys').where({ kid: 'k1' }).first('kid', 'secret');
    this.key = { kid: row.kid as string, secret: new Uint8Array(row.secret as Buffer) };
    return this.key;
  }

  async issue(client: AuthenticatedClient, scopes: string[]): Promise<string> {
    const key = await this.signingKey();
    return new SignJWT({ account: client.accountId, scope: scopes.join(' ') })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setSubject(client.clientId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .sign(key.secret);
  }

  /** The token's client, or a reason it is not acceptable. */
  async verify(
    token: string,
  ): Promise<{ ok: true; client: AuthenticatedClient } | { ok: false; reason: 'expired' | 'invalid' }> {
    const key = await this.signingKey();
    try {
      const { payload } = await jwtVerify(token, key.secret, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.account !== 'string' || typeof payload.scope !== 'string') {
        return { ok: false, reason: 'invalid' };
      }
      return {
        ok: true,
        client: { clientId: payload.sub, accountId: payload.account, scopes: payload.scope.split(' ').filter(Boolean) },
      };
    } catch (error) {
      return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
