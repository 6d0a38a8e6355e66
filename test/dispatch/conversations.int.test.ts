import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSkill, setConversationIdleTimeout } from '../../src/app/account-settings.ts';
import { createSmsCampaign } from '../../src/app/campaigns.ts';
import { closeConversation, closeIdleConversations, sendAgentReply } from '../../src/app/conversations.ts';
import { waitForProjection } from '../../src/projections/wait.ts';
import { committedHead, startTestApp, type TestApp } from '../support/app.ts';
import { messageCounts, phone, readyAccount, SYSTEM, waitForCampaign } from './support.ts';

/** F8/F18 through the sandbox: replies open routed conversations; agents answer; the open-conversation rule. */
let running: TestApp;
let senderId: string;
let sales: string;
let support: string;
let loyalty: string;
const SENDER = '+14155550100';

beforeAll(async () => {
  running = await startTestApp({}, { worker: true });
  senderId = (await readyAccount(running)).senderId;
  sales = (await addSkill(running.app, { accountId: 'default', name: 'Sales' }, SYSTEM)).skillId;
  support = (await addSkill(running.app, { accountId: 'default', name: 'Support', isDefault: true }, SYSTEM)).skillId;
  loyalty = (await addSkill(running.app, { accountId: 'default', name: 'Loyalty' }, SYSTEM)).skillId;
});
afterAll(async () => {
  await running?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function campaign(to: string, options: { skillId: string; routeAll: boolean; name: string }) {
  const created = await createSmsCampaign(
    { ...running.app, personalData: running.app.channels.personalData },
    {
      accountId: 'default',
      name: options.name,
      senderId,
      text: 'Hi ${{1}}, your table is ready.',
      skillId: options.skillId,
      lookbackHours: 24,
      routeAllWithinLookback: options.routeAll,
      source: 'api',
      consent: true,
      recipients: [{ phone: to, variables: { 1: 'Ada' } }],
      publish: true,
    },
    SYSTEM,
  );
  await waitForCampaign(running, created.campaignId);
  return created.campaignId;
}

async function reply(from: string, body: string, to = SENDER) {
  return fetch(`${running.baseUrl}/sandbox/phone/reply`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ from, to, body }),
  });
}

/** The consumer's conversations, newest first, once the read model has them. */
async function conversationsOf(count: number) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const head = await committedHead(running.app.db);
    if (head) await waitForProjection(running.app.db, 'conversations', head, { timeoutMs: 5000 });
    const rows = await running.app.db('conversations').where({ account_id: 'default' }).orderBy('opened_at', 'desc');
    if (rows.length >= count) return rows;
    await sleep(25);
  }
  throw new Error(`fewer than ${count} conversations`);
}

async function transcript(conversationId: string, consumerRef: string) {
  const head = await committedHead(running.app.db);
  if (head) await waitForProjection(running.app.db, 'conversations', head, { timeoutMs: 5000 });
  const rows = await running.app
    .db('conversation_messages')
    .where({ account_id: 'default', conversation_id: conversationId })
    .orderBy('at');
  return Promise.all(
    rows.map(async (row) => ({
      direction: row.direction as string,
      campaignName: row.campaign_name as string | null,
      text: (await running.app.channels.personalData.openFor<{ text: string }>('default', consumerRef, row.sealed))
        .text,
    })),
  );
}

const close = (conversationId: string) =>
  closeConversation(running.app, { accountId: 'default', conversationId, by: 'agent-1', reason: 'agent' }, SYSTEM);

describe('conversations through the sandbox', () => {
  it('opens on the campaign’s skill with the first message, lets the agent answer and close, then routes per mode', async () => {
    const ada = phone(8000);
    const first = await campaign(ada, { skillId: sales, routeAll: false, name: 'Table ready' });

    expect((await reply(ada, 'Great, coming 🎉')).status).toBeLessThan(300);
    const [opened] = await conversationsOf(1);
    expect(opened).toMatchObject({ skill_id: sales, routing: 'first-reply', campaign_id: first, status: 'open' });
    expect(await transcript(opened.conversation_id, opened.consumer_ref)).toEqual([
      {
        direction: 'proactive',
        campaignName: 'Table ready',
        text: 'Hi Ada, your table is ready.\nTo stop receiving messages, reply STOP.',
      },
      { direction: 'in', campaignName: null, text: 'Great, coming 🎉' },
    ]);
    expect(await messageCounts(running, first)).toEqual({ responded: 1 });
    const responded = await running.app.db('campaign_messages').where({ campaign_id: first }).first('conversation_id');
    expect(responded.conversation_id).toBe(opened.conversation_id);

    // The agent answers on the same channel and sender: the sandbox phone receives it.
    await sendAgentReply(
      { ...running.app, personalData: running.app.channels.personalData, providers: running.app.channels.providers },
      { accountId: 'default', conversationId: opened.conversation_id, agentId: 'agent-1', text: 'See you at 8!' },
      SYSTEM,
    );
    const delivered = await running.app.db('sandbox_messages').where({ to: ada, from: SENDER }).orderBy('seq');
    expect(delivered.map((row) => row.body)).toEqual([
      'Hi Ada, your table is ready.\nTo stop receiving messages, reply STOP.',
      'See you at 8!',
    ]);
    await close(opened.conversation_id);

    // A later reply within the lookback, routeAllWithinLookback off: the account's default skill.
    await reply(ada, 'One more thing');
    const [later] = await conversationsOf(2);
    expect(later).toMatchObject({ skill_id: support, routing: 'default-skill', status: 'open' });
    expect(later.conversation_id).not.toBe(opened.conversation_id);
    await close(later.conversation_id);

    // A campaign that routes every reply within its lookback: first reply, then later ones, to its skill.
    const second = await campaign(ada, { skillId: loyalty, routeAll: true, name: 'Points' });
    await reply(ada, 'Thanks');
    const [firstOfSecond] = await conversationsOf(3);
    expect(firstOfSecond).toMatchObject({ skill_id: loyalty, routing: 'first-reply', campaign_id: second });
    await close(firstOfSecond.conversation_id);
    await reply(ada, 'Also…');
    const [withinLookback] = await conversationsOf(4);
    expect(withinLookback).toMatchObject({ skill_id: loyalty, routing: 'within-lookback', campaign_id: second });

    // Replies while a conversation is open join it.
    await reply(ada, 'Are you there?');
    await sleep(200);
    expect(await conversationsOf(4)).toHaveLength(4);
    const joined = await transcript(withinLookback.conversation_id, withinLookback.consumer_ref);
    expect(joined.map((message) => message.direction)).toEqual(['proactive', 'in', 'in']);
    expect(joined.map((message) => message.text).slice(1)).toEqual(['Also…', 'Are you there?']);

    // A new campaign to a consumer in an open conversation skips them.
    const third = await campaign(ada, { skillId: sales, routeAll: false, name: 'Dessert' });
    const skipped = await running.app.db('campaign_messages').where({ campaign_id: third }).first('status', 'reason');
    expect(skipped).toEqual({ status: 'skipped', reason: 'open-conversation' });
  }, 120_000);

  it('routes a reply from a number never messaged to the default skill, and survives bad inbound messages', async () => {
    const stranger = phone(8100);
    const before = (await conversationsOf(0)).length;
    await reply(stranger, 'Who is this?');
    const plain = (await conversationsOf(before + 1)).find(
      (row) => row.campaign_id === null && row.routing === 'default-skill',
    );
    expect(plain).toMatchObject({ skill_id: support, status: 'open' });

    // What the app's inbound webhook answered, as the sandbox reports it.
    const webhookStatus = async (response: Response) =>
      ((await response.json()) as { webhookStatus: number }).webhookStatus;
    expect(await webhookStatus(await reply(stranger, ''))).toBe(200);
    // Longer than an SMS can be: the sandbox refuses it as Twilio would, and so does the app's own webhook.
    expect((await reply(stranger, 'x'.repeat(1601))).status).toBe(400);
    const { authToken } = await running.app.channels.twilioCredentials();
    const url = `${running.baseUrl}/webhooks/twilio/inbound`;
    const params = { From: stranger, To: SENDER, Body: 'x'.repeat(1601), MessageSid: 'SMlong' };
    const direct = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    expect(direct.status).toBe(400);
    expect(await webhookStatus(await reply(stranger, 'hi', '+14155559999'))).toBe(404);
    expect(await webhookStatus(await reply(stranger, '👋🏽 ¿qué tal? 你好'))).toBe(200);
    const texts = await transcript(plain!.conversation_id, plain!.consumer_ref);
    expect(texts.map((message) => message.text)).toEqual(['Who is this?', '👋🏽 ¿qué tal? 你好']);

    // STOP closes the conversation: nobody answers into an opt-out.
    await reply(stranger, 'STOP');
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const row = await running.app.db('conversations').where({ conversation_id: plain!.conversation_id }).first();
      if (row.status === 'closed') {
        expect(row.close_reason).toBe('consumer-opted-out');
        return;
      }
      await sleep(50);
    }
    expect.fail('the conversation did not close on STOP');
  });

  it('refuses an empty or overlong agent reply with a clear error, sending nothing', async () => {
    const [open] = (await running.app.db('conversations').where({ account_id: 'default', status: 'open' })) as {
      conversation_id: string;
    }[];
    const deps = {
      ...running.app,
      personalData: running.app.channels.personalData,
      providers: running.app.channels.providers,
    };
    const before = await running.app.db('sandbox_messages').count('* as count');
    await expect(
      sendAgentReply(
        deps,
        { accountId: 'default', conversationId: open!.conversation_id, agentId: 'a', text: '  ' },
        SYSTEM,
      ),
    ).rejects.toMatchObject({ code: 'EMPTY_MESSAGE', field: 'text' });
    await expect(
      sendAgentReply(
        deps,
        { accountId: 'default', conversationId: open!.conversation_id, agentId: 'a', text: 'x'.repeat(1601) },
        SYSTEM,
      ),
    ).rejects.toMatchObject({ code: 'MESSAGE_TOO_LONG', field: 'text' });
    expect(await running.app.db('sandbox_messages').count('* as count')).toEqual(before);
  });
});

describe('idle conversations', () => {
  it('closes an open conversation idle past the account’s timeout, and not before', async () => {
    const set = await setConversationIdleTimeout(running.app, { accountId: 'default', minutes: 5 }, SYSTEM);
    await waitForProjection(running.app.db, 'account-settings', set.position!, { timeoutMs: 5000 });
    await expect(
      setConversationIdleTimeout(running.app, { accountId: 'default', minutes: 1 }, SYSTEM),
    ).rejects.toMatchObject({ code: 'INVALID_TIMEOUT', field: 'minutes' });
    const open = await running.app.db('conversations').where({ account_id: 'default', status: 'open' });
    expect(open.length).toBeGreaterThan(0);
    const latest = Math.max(...open.map((row) => row.last_activity_at.getTime()));

    expect(await closeIdleConversations(running.app, new Date(latest + 4 * 60_000))).toBe(0);
    expect(await closeIdleConversations(running.app, new Date(latest + 6 * 60_000))).toBe(open.length);
    for (const row of open) {
      const events = await running.app.store.read(`conversation-${row.conversation_id}`);
      expect(events.at(-1)).toMatchObject({ type: 'ConversationClosed', data: { reason: 'idle-timeout' } });
    }
  });
});
