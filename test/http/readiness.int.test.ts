import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

/**
 * A projection that stops at an event it cannot apply is visible to an operator: /readyz answers 503 naming it
 * and the event, the metric says so, and the other projections go on.
 */
let running: TestApp;
beforeAll(async () => {
  running = await startTestApp();
});
afterAll(async () => {
  await running?.close();
});

describe('/readyz and a stopped projection', () => {
  it('answers 503 naming the projection and the event; the others stay caught up', async () => {
    expect((await fetch(`${running.baseUrl}/readyz`)).status).toBe(200);
    // What an older, buggier writer could have left in the store: a MessageQueued without its consumer.
    const bad = await running.app.store.append(
      'message-broken.0',
      [
        {
          type: 'MessageQueued',
          data: { accountId: 'default', campaignId: 'broken', messageId: 'broken.0' },
          metadata: { correlationId: 'c', causationId: null, actor: 'test' },
        },
      ],
      'no_stream',
    );
    const position = `${bad.position.commit}/${bad.position.prepare}`;
    const deadline = Date.now() + 20_000;
    type Readiness = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };
    let body: Readiness = { status: 'unknown', checks: {} };
    while (Date.now() < deadline) {
      const response = await fetch(`${running.baseUrl}/readyz`);
      body = (await response.json()) as Readiness;
      // Before the runner records the halt, the projection is only behind; wait for the halt itself.
      if (response.status === 503 && body.checks['projection:campaign-messages']?.detail?.startsWith('stopped')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(body.status).toBe('not ready');
    expect(body.checks['projection:campaign-messages']).toEqual({
      ok: false,
      detail: expect.stringContaining(`stopped at MessageQueued`),
    });
    expect(body.checks['projection:campaign-messages']?.detail).toContain(`position ${position}`);
    expect(body.checks['projection:dispatch-queue']?.ok).toBe(false);
    // Projections that do not handle MessageQueued went past it.
    expect(body.checks['projection:users']).toEqual({ ok: true });
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/outbound_projection_halted\{projection="campaign-messages"\} 1/);
    expect(metrics).toMatch(/outbound_projection_halted\{projection="users"\} 0/);
  }, 60_000);
});
