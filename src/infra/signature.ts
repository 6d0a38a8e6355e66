import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header of every signed POST Outbound makes: status webhooks (B6) and in-app pushes to a brand's proxy (F6). */
export const SIGNATURE_HEADER = 'x-outbound-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as a receiver recomputes it with the shared secret. */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}

/** Whether `header` signs `body` with `secret`, made at most `toleranceSeconds` from `now` (replays refused). */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const timestamp = Number(match[1]);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, body, timestamp));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
