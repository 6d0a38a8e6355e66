import { randomUUID } from 'node:crypto';
import type { ChannelProviders } from '../channels/port.ts';
import * as campaign from '../domain/campaign.ts';
import * as consumer from '../domain/consumer.ts';
import * as conversation from '../domain/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import * as message from '../domain/message.ts';
import { renderSms } from '../domain/sms.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { Logger } from '../infra/logger.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import type { LinkSigner, WindowLink } from '../infra/signed-links.ts';
import { routeInbound } from './conversations.ts';
import { foldStream, handleCommand } from './handler.ts';
import type { InAppRecipient } from './inapp-campaigns.ts';

/**
 * The in-app messaging window (F6), reached by the push's deep link `/m/<token>`: the proactive message (and its
 * image), then the consumer's conversation; opening it records MessageRead, a reply routes like any inbound
 * message. A forged, expired or erased link shows nothing and records nothing.
 */

export interface WindowDeps {
  store: EventStore;
  db: Db;
  log: Logger;
  personalData: PersonalData;
  providers: ChannelProviders;
  links: LinkSigner;
}

export const MAX_INAPP_REPLY_LENGTH = 2000;

export type WindowRefusal = 'forged' | 'expired' | 'erased';

export interface WindowView {
  link: WindowLink;
  title: string;
  text: string;
  imageUrl: string | null;
  linkUrl: string | null;
  sentAt: string | null;
  thread: { from: 'consumer' | 'agent'; text: string; at: string }[];
  conversationOpen: boolean;
}

interface Opened {
  link: WindowLink;
  state: message.Message;
  draft: NonNullable<campaign.Campaign['draft']>;
  recipient: InAppRecipient;
  events: Awaited<ReturnType<EventStore['read']>>;
}

async function openLink(deps: WindowDeps, token: string, now: Date): Promise<Opened | WindowRefusal> {
  const checked = await deps.links.check(token, now);
  if (!checked.ok) return checked.why;
  const { link } = checked;
  const events = await deps.store.read(message.messageStream(link.messageId));
  const state = foldStream(message, events);
  const queued = state.queued;
  // A valid signature over a message that is not this consumer's In-App message: it names nothing of ours.
  if (!queued || queued.accountId !== link.accountId || queued.consumerRef !== link.consumerRef) return 'forged';
  if (queued.channel !== 'inapp') return 'forged';
  const draft = foldStream(campaign, await deps.store.read(campaign.campaignStream(queued.campaignId))).draft;
  if (!draft) return 'forged';
  try {
    const recipient = await deps.personalData.openFor<InAppRecipient>(link.accountId, link.consumerRef, queued.sealed);
    return { link, state, draft, recipient, events };
  } catch {
    return 'erased';
  }
}

/** The conversation the window shows: the one this message's reply opened, else the consumer's open one. */
async function conversationOf(deps: WindowDeps, opened: Opened): Promise<string | null> {
  const responded = opened.events.find((event) => event.type === 'MessageResponded');
  if (responded) return (responded.data as { conversationId: string }).conversationId;
  const state = foldStream(
    consumer,
    await deps.store.read(consumer.consumerStream(opened.link.accountId, opened.link.consumerRef)),
  );
  return state.openConversationId;
}

async function threadOf(deps: WindowDeps, opened: Opened) {
  const conversationId = await conversationOf(deps, opened);
  if (!conversationId) return { thread: [], open: false };
  const events = await deps.store.read(conversation.conversationStream(conversationId));
  const state = foldStream(conversation, events);
  if (state.accountId !== opened.link.accountId || state.consumerRef !== opened.link.consumerRef) {
    return { thread: [], open: false };
  }
  const thread: WindowView['thread'] = [];
  for (const event of events) {
    if (event.type !== 'ConsumerMessageReceived' && event.type !== 'AgentMessageSent') continue;
    const data = event.data as { sealed: string; receivedAt?: string; sentAt?: string };
    const { text } = await deps.personalData
      .openFor<{ text: string }>(opened.link.accountId, opened.link.consumerRef, data.sealed)
      .catch(() => ({ text: '' }));
    thread.push({
      from: event.type === 'AgentMessageSent' ? 'agent' : 'consumer',
      text,
      at: data.receivedAt ?? data.sentAt ?? '',
    });
  }
  return { thread, open: state.status === 'open' };
}

/** The window's content; `recordRead` (the page, not its polling) records MessageRead once. */
export async function openWindow(
  deps: WindowDeps,
  token: string,
  options: { now?: Date; recordRead: boolean },
): Promise<WindowView | WindowRefusal> {
  const now = options.now ?? new Date();
  const opened = await openLink(deps, token, now);
  if (typeof opened === 'string') return opened;
  const { link, state, draft, recipient } = opened;
  if (options.recordRead && ['sending', 'sent', 'delivered'].includes(state.status)) {
    await handleCommand(
      deps.store,
      message.messageStream(link.messageId),
      message,
      {
        type: 'RecordStatus',
        accountId: link.accountId,
        campaignId: state.queued!.campaignId,
        messageId: link.messageId,
        providerMessageId: state.providerMessageId ?? `inapp-window-${link.messageId}`,
        status: 'read',
        now: now.toISOString(),
      },
      { actor: 'system:inapp-window' },
    );
  }
  const rendered = renderSms(draft.text, recipient.variables);
  const sent = opened.events.find((event) => event.type === 'MessageSent');
  const { thread, open } = await threadOf(deps, opened);
  return {
    link,
    title: draft.inapp?.title ?? '',
    text: rendered.ok ? rendered.text : draft.text,
    imageUrl: draft.inapp?.imageUrl ?? null,
    linkUrl: draft.inapp?.linkUrl ?? null,
    sentAt: sent ? (sent.data as { sentAt: string }).sentAt : null,
    thread,
    conversationOpen: open,
  };
}

/** The consumer's reply from the window: routed like any inbound message (skill, lookback, the agent inbox). */
export async function replyInWindow(
  deps: WindowDeps,
  token: string,
  body: unknown,
  now: Date = new Date(),
): Promise<WindowRefusal | { conversationId: string }> {
  const opened = await openLink(deps, token, now);
  if (typeof opened === 'string') return opened;
  const text = typeof body === 'string' ? body.trim() : '';
  if (!text) throw new DomainError('EMPTY_MESSAGE', 'Write a message before sending.', 'body');
  if (text.length > MAX_INAPP_REPLY_LENGTH) {
    throw new DomainError('MESSAGE_TOO_LONG', `A message is at most ${MAX_INAPP_REPLY_LENGTH} characters.`, 'body');
  }
  const routed = await routeInbound(deps, {
    accountId: opened.link.accountId,
    consumerRef: opened.link.consumerRef,
    phone: `In-App ${opened.recipient.consumerId}`,
    senderId: opened.draft.senderId,
    channel: 'inapp',
    body: text,
    providerMessageId: `inapp-${randomUUID()}`,
    now,
  });
  return { conversationId: routed.conversationId };
}
