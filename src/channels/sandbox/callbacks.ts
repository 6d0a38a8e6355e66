import twilio from 'twilio';
import type { Db } from '../../infra/db.ts';
import type { Logger } from '../../infra/logger.ts';
import type { SandboxCredentials, SandboxFaults, SandboxMessageRow } from './store.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Step {
  status: string;
  errorCode?: number;
  /** Wait before this step, in ms. */
  after: number;
}

/**
 * The sandbox's status callbacks: queued → sent → delivered (or undelivered), and for WhatsApp → read, each step
 * stored and reported to the message's StatusCallback with Twilio's signature.
 */
export class SandboxCallbacks {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(
    private readonly deps: { db: Db; log: Logger; credentials: () => Promise<SandboxCredentials> },
    private readonly faults: () => SandboxFaults,
  ) {}

  /** The steps a just-created message goes through, as the faults in force say. */
  steps(row: SandboxMessageRow, delayMs: number): Step[] {
    const faults = this.faults();
    const whatsapp = row.to.startsWith('whatsapp:');
    const number = row.to.replace(/^whatsapp:/, '');
    const undeliverable = faults.undeliverable[number];
    const steps: Step[] = [{ status: 'sent', after: delayMs }];
    if (undeliverable) return [...steps, { status: 'undelivered', errorCode: undeliverable, after: delayMs }];
    if (whatsapp && faults.whatsappNoReceipt.includes(number)) return steps;
    steps.push({ status: 'delivered', after: delayMs });
    if (whatsapp && faults.readAfterMs >= 0) steps.push({ status: 'read', after: faults.readAfterMs });
    return steps;
  }

  progress(row: SandboxMessageRow, delayMs: number): void {
    const steps = this.steps(row, delayMs);
    const runStep = (index: number) => {
      const step = steps[index]!;
      const timer = setTimeout(async () => {
        this.pending.delete(timer);
        try {
          await this.report(row, step);
        } catch (error) {
          this.deps.log.warn({ err: error, sid: row.sid }, 'sandbox status callback failed');
        }
        if (index + 1 < steps.length) runStep(index + 1);
      }, step.after);
      this.pending.add(timer);
    };
    if (steps.length > 0) runStep(0);
  }

  private async report(row: SandboxMessageRow, step: Step): Promise<void> {
    const now = new Date();
    await this.deps
      .db('sandbox_messages')
      .where({ sid: row.sid })
      .update({
        status: step.status,
        date_updated: now,
        ...(step.status === 'sent' ? { date_sent: now } : {}),
        ...(step.errorCode ? { error_code: step.errorCode, error_message: 'Sandbox: message undelivered' } : {}),
      });
    await this.postSigned(row.status_callback!, {
      AccountSid: row.account_sid,
      From: row.from,
      To: row.to,
      MessageSid: row.sid,
      SmsSid: row.sid,
      MessageStatus: step.status,
      SmsStatus: step.status,
      ApiVersion: '2010-04-01',
      ...(row.to.startsWith('whatsapp:') ? { ChannelPrefix: 'whatsapp' } : {}),
      ...(step.errorCode ? { ErrorCode: String(step.errorCode) } : {}),
    });
  }

  /** POSTs form params to a webhook with Twilio's signature, retrying a few times as Twilio does. */
  async postSigned(url: string, params: Record<string, string>): Promise<number> {
    const { authToken } = await this.deps.credentials();
    const signature = twilio.getExpectedTwilioSignature(authToken, url, params);
    let lastStatus = 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
          body: new URLSearchParams(params),
        });
        lastStatus = response.status;
        await response.arrayBuffer();
        if (response.status < 500) return response.status;
      } catch (error) {
        this.deps.log.debug({ err: error, url }, 'sandbox webhook attempt failed');
      }
      await sleep(100 * 2 ** attempt);
    }
    return lastStatus;
  }

  stop(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
