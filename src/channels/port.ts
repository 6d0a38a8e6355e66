import type { Channel } from '../domain/account-settings.ts';
import type { PushContent } from '../domain/inapp-message.ts';
import type { SendFailure } from '../domain/message.ts';
import type { TemplateContent } from '../domain/template-content.ts';

/**
 * The channel port (DESIGN §5): what the dispatcher, the conversations and the webhooks need of a channel,
 * whichever provider carries it. Twilio SMS is the first adapter (src/channels/twilio.ts); WhatsApp and In-App
 * plug in beside it.
 */

export type { SendFailure } from '../domain/message.ts';

/** A send that did not go through, classified by the adapter (retryable, permanent or ambiguous). */
export class ChannelSendError extends Error {
  constructor(readonly failure: SendFailure) {
    super(`${failure.code}: ${failure.message}`);
    this.name = 'ChannelSendError';
  }
}

export interface OutboundMessage {
  /** The sender's address on the channel (an E.164 number for SMS). */
  from: string;
  to: string;
  body: string;
  /** WhatsApp: the approved Content template sent instead of a free-form body, and its variables by number. */
  contentSid?: string;
  contentVariables?: Record<string, string>;
  /** Where the provider reports this message's status changes. */
  statusCallback?: string;
  /** In-App (F6): the push's content and provider; `to` is then the device id. */
  push?: PushContent;
}

/** A provider's status report for one message, as the status webhook receives it. */
export interface StatusUpdate {
  providerMessageId: string;
  status: string;
  errorCode?: string;
  errorMessage?: string;
}

export interface ChannelCapabilities {
  /** Status callbacks report delivery. */
  deliveryReceipts: boolean;
  /** Read receipts are reported. */
  readReceipts: boolean;
  /** The provider can list what was sent, so a send of unknown outcome can be reconciled. */
  reconciliation: boolean;
  /** Longest body one message carries. */
  maxBodyLength: number;
}

export interface ChannelProvider {
  readonly channel: Channel;
  readonly supports: ChannelCapabilities;
  /** Sends one message; answers the provider's message id, or throws a ChannelSendError. */
  send(message: OutboundMessage): Promise<{ providerMessageId: string }>;
  /**
   * Reconciliation: the id of a message from → to that the provider created at or after `since`, or null. Throws
   * a ChannelSendError when the provider cannot be asked.
   */
  findSentSince(input: { from: string; to: string; since: Date }): Promise<string | null>;
  /** A status callback's form parameters → the update they report; null when they are not one. */
  parseStatusCallback(params: Record<string, unknown>): StatusUpdate | null;
}

/** The providers of a process, by channel: a channel without one cannot be sent on. */
export type ChannelProviders = Partial<Record<Channel, ChannelProvider>>;

/** A template's approval as the provider reports it (WhatsApp's statuses; "received" and the like are pending). */
export interface TemplateApproval {
  status: 'pending' | 'approved' | 'rejected' | 'paused' | 'disabled';
  reason: string | null;
}

/** WhatsApp templates at the provider (Twilio's Content API and its WhatsApp approval requests). */
export interface WhatsAppTemplates {
  /** Creates the content; answers its id (HX…). */
  create(content: TemplateContent): Promise<string>;
  requestApproval(contentSid: string, request: { name: string; category: string }): Promise<void>;
  approval(contentSid: string): Promise<TemplateApproval>;
}
