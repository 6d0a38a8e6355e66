import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { apiToken } from '../support/api-client.ts';
import type { TestApp } from '../support/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk JSON bodies freely.
export const json = (response: Response): Promise<any> => response.json();

/** An API client of the default account with the given scopes, and its bearer token, through HTTP. */
export async function apiAs(running: TestApp, scopes: string[]) {
  const token = await apiToken(running, scopes);
  return (path: string, init: RequestInit = {}) =>
    fetch(`${running.baseUrl}/api/v2/account/default${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  // biome-ignore lint/suspicious/noExplicitAny: the body as the receiver parsed it.
  body: any;
}

/**
 * A local HTTP receiver standing in for a push proxy or FCM: records every request and answers what `answer`
 * says (status and JSON body).
 */
export async function startReceiver(
  answer: (request: ReceivedRequest, index: number) => { status: number; body?: unknown },
): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // a form body (the OAuth token exchange) stays text
      }
      const request = { path: req.url ?? '', headers: req.headers, raw, body };
      received.push(request);
      let reply: { status: number; body?: unknown };
      try {
        reply = answer(request, received.length - 1);
      } catch (error) {
        reply = { status: 500, body: { error: String(error) } };
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Whether a request carries a valid `X-Outbound-Signature` for `secret`. */
export function validSignature(request: ReceivedRequest, secret: string): boolean {
  const signature = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers['x-outbound-signature']));
  if (!signature) return false;
  return createHmac('sha256', secret).update(`${signature[1]}.${request.raw}`).digest('hex') === signature[2];
}
