import { createHmac } from 'node:crypto';

/** The header of every signed POST Outbound makes: status webhooks (B6) and in-app pushes to a brand's proxy (F6). */
export const SIGNATURE_HEADER = 'x-outbound-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as a receiver recomputes it with the shared secret. */
export function signPayload(secret: string, body: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}
