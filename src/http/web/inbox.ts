import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../../app/context.ts';
import { closeConversation, sendAgentReply, transferConversation } from '../../app/conversations.ts';
import { agentReplyWindow, type Conversation } from '../../domain/conversation.ts';
import { DomainError } from '../../domain/decider.ts';
import { ConsumerKeyErasedError } from '../../infra/personal-data.ts';
import { httpStatus } from '../domain-statuses.ts';
import { readYourWrites, withPosition } from './consistency.ts';
import { requireRole, requireUser } from './session.ts';

/** Who may answer, transfer and close: Agents and Agent Managers (their only write right), and Admins. */
const RESPONDERS = ['admin', 'agent_manager', 'agent'] as const;
const ID = /^[0-9a-f]{32}$/;

interface ConversationRow {
  conversation_id: string;
  consumer_ref: string;
  channel: string;
  skill_id: string | null;
  routing: string;
  campaign_id: string | null;
  status: string;
  sealed_phone: string | null;
  opened_at: Date;
  last_activity_at: Date;
  last_consumer_at: Date | null;
  closed_at: Date | null;
  close_reason: string | null;
  read_at?: Date | null;
}

/** F18: the agent inbox: conversations by skill with unread markers, and each transcript with reply, transfer, close. */
export function inboxRoutes(app: AppContext): Router {
  const router = Router();
  const personalData = app.channels.personalData;
  const now = () => app.now?.() ?? new Date();

  const open = async <T>(accountId: string, ref: string, sealed: string | null, fallback: T): Promise<T> => {
    if (!sealed) return fallback;
    try {
      return await personalData.openFor<T>(accountId, ref, sealed);
    } catch (error) {
      if (error instanceof ConsumerKeyErasedError) return fallback;
      throw error;
    }
  };

  const skillsOf = (accountId: string) =>
    app.db('skills').where({ account_id: accountId }).orderBy('name').select<{ skill_id: string; name: string }[]>();

  async function listModel(req: Request) {
    const accountId = req.user!.accountId;
    const status = req.query.status === 'closed' ? 'closed' : 'open';
    const skill = typeof req.query.skill === 'string' && req.query.skill ? req.query.skill : '';
    const query = app
      .db('conversations as c')
      .leftJoin('conversation_reads as r', function () {
        this.on('r.account_id', '=', 'c.account_id')
          .andOn('r.conversation_id', '=', 'c.conversation_id')
          .andOnVal('r.user_id', '=', req.user!.userId);
      })
      .where({ 'c.account_id': accountId, 'c.status': status })
      .orderBy('c.last_activity_at', 'desc')
      .limit(200)
      .select<ConversationRow[]>('c.*', 'r.read_at');
    if (skill) query.andWhere('c.skill_id', skill);
    const rows = await query;
    const skills = await skillsOf(accountId);
    const names = new Map(skills.map((row) => [row.skill_id, row.name]));
    const conversations = await Promise.all(
      rows.map(async (row) => ({
        id: row.conversation_id,
        phone: (await open(accountId, row.consumer_ref, row.sealed_phone, { phone: 'erased' })).phone,
        skill: row.skill_id ? (names.get(row.skill_id) ?? row.skill_id) : 'No skill',
        routing: row.routing,
        channel: row.channel,
        lastActivityAt: row.last_activity_at,
        unread: Boolean(row.last_consumer_at && (!row.read_at || row.last_consumer_at > row.read_at)),
      })),
    );
    return { conversations, skills, status, skill, query: new URLSearchParams({ status, skill }).toString() };
  }

  router.get('/inbox', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['conversations']);
    res.render('inbox/index', { title: 'Inbox', ...(await listModel(req)) });
  });

  router.get('/inbox/list', requireUser, async (req, res) => {
    res.render('inbox/_list', await listModel(req));
  });

  async function conversationModel(req: Request) {
    const accountId = req.user!.accountId;
    const conversationId = String(req.params.id);
    if (!ID.test(conversationId)) return null;
    const row = await app
      .db('conversations')
      .where({ account_id: accountId, conversation_id: conversationId })
      .first<ConversationRow | undefined>();
    if (!row) return null;
    const messages = await app
      .db('conversation_messages')
      .where({ account_id: accountId, conversation_id: conversationId })
      .orderBy('at')
      .select<
        { direction: string; sealed: string; agent_id: string | null; campaign_name: string | null; at: Date }[]
      >();
    const skills = await skillsOf(accountId);
    const agents = new Map(
      (await app.db('users').where({ account_id: accountId }).select('user_id', 'name')).map((user) => [
        user.user_id as string,
        user.name as string,
      ]),
    );
    return {
      conversation: {
        id: row.conversation_id,
        status: row.status,
        routing: row.routing,
        skillId: row.skill_id,
        skill: skills.find((skill) => skill.skill_id === row.skill_id)?.name ?? 'No skill',
        phone: (await open(accountId, row.consumer_ref, row.sealed_phone, { phone: 'erased' })).phone,
        closeReason: row.close_reason,
        closedAt: row.closed_at,
        channel: row.channel,
      },
      // WhatsApp's 24-hour rule, decided in the domain; the send is refused the same way if the page is stale.
      replyWindow: agentReplyWindow(
        {
          channel: row.channel as Conversation['channel'],
          lastConsumerMessageAt: row.last_consumer_at?.toISOString() ?? null,
        },
        now(),
      ),
      messages: await Promise.all(
        messages.map(async (message) => ({
          direction: message.direction,
          ...(await open<{ text: string; buttonPayload?: string }>(accountId, row.consumer_ref, message.sealed, {
            text: '(erased)',
          })),
          by:
            message.direction === 'proactive'
              ? `Proactive · ${message.campaign_name}`
              : message.direction === 'out'
                ? (agents.get(message.agent_id ?? '') ?? 'Agent')
                : 'Consumer',
          at: message.at,
        })),
      ),
      skills,
      canRespond: (RESPONDERS as readonly string[]).includes(req.user!.role),
    };
  }

  const notFound = () => new DomainError('CONVERSATION_NOT_FOUND', 'There is no such conversation in this account.');

  async function renderConversation(
    req: Request,
    res: Response,
    extra: { error?: string; draft?: string; status?: number } = {},
  ) {
    const model = await conversationModel(req);
    if (!model) throw notFound();
    await app
      .db('conversation_reads')
      .insert({
        account_id: req.user!.accountId,
        conversation_id: model.conversation.id,
        user_id: req.user!.userId,
        read_at: new Date(),
      })
      .onConflict(['account_id', 'conversation_id', 'user_id'])
      .merge();
    res.status(extra.status ?? 200).render('inbox/conversation', {
      title: `Conversation with ${model.conversation.phone}`,
      ...model,
      error: extra.error ?? null,
      draft: extra.draft ?? '',
    });
  }

  router.get('/inbox/:id', requireUser, async (req, res) => {
    await readYourWrites(app.db, req, ['conversations']);
    await renderConversation(req, res);
  });

  router.get('/inbox/:id/messages', requireUser, async (req, res) => {
    const model = await conversationModel(req);
    if (!model) throw notFound();
    res.render('inbox/_messages', model);
  });

  const context = (req: Request) => ({ actor: req.user!.userId });

  router.post('/inbox/:id/reply', requireRole(...RESPONDERS), async (req, res) => {
    const conversationId = String(req.params.id);
    if (!ID.test(conversationId)) throw notFound();
    const text = typeof req.body?.text === 'string' ? req.body.text : '';
    try {
      const result = await sendAgentReply(
        { ...app, personalData, providers: app.channels.providers },
        { accountId: req.user!.accountId, conversationId, agentId: req.user!.userId, text, now: now() },
        context(req),
      );
      res.redirect(303, withPosition(`/inbox/${conversationId}`, result.position));
    } catch (error) {
      if (!(error instanceof DomainError) || httpStatus(error) === 404) throw error;
      await renderConversation(req, res, { error: error.message, draft: text, status: httpStatus(error) });
    }
  });

  router.post('/inbox/:id/transfer', requireRole(...RESPONDERS), async (req, res) => {
    const conversationId = String(req.params.id);
    if (!ID.test(conversationId)) throw notFound();
    const result = await transferConversation(
      app,
      {
        accountId: req.user!.accountId,
        conversationId,
        toSkillId: typeof req.body?.skill === 'string' ? req.body.skill : '',
        by: req.user!.userId,
      },
      context(req),
    );
    res.redirect(303, withPosition(`/inbox/${conversationId}`, result.position));
  });

  router.post('/inbox/:id/close', requireRole(...RESPONDERS), async (req, res) => {
    const conversationId = String(req.params.id);
    if (!ID.test(conversationId)) throw notFound();
    const result = await closeConversation(
      app,
      { accountId: req.user!.accountId, conversationId, by: req.user!.userId, reason: 'agent' },
      context(req),
    );
    res.redirect(303, withPosition(`/inbox/${conversationId}`, result.position));
  });

  return router;
}
