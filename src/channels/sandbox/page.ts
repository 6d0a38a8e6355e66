import { Router } from 'express';
import type { Db } from '../../infra/db.ts';
import { type RenderedContent, renderContent, type SandboxContentRow } from './content.ts';
import type { SandboxCredentials, SandboxMessageRow } from './store.ts';

interface PageMessage extends SandboxMessageRow {
  /** A WhatsApp template message as the consumer sees it (header media, body, footer, buttons); else null. */
  rendered: RenderedContent | null;
}

interface Thread {
  /** The consumer's address as Twilio writes it (`whatsapp:+E164` on WhatsApp). */
  phone: string;
  sender: string;
  channel: 'sms' | 'whatsapp';
  messages: PageMessage[];
}

/**
 * `/sandbox`: every sandbox phone's thread, where a person replies as the consumer (STOP included). WhatsApp
 * threads show each template message rendered with its variables, and its quick replies can be tapped.
 */
export function sandboxPage(deps: { db: Db; credentials: () => Promise<SandboxCredentials> }): Router {
  const router = Router();
  router.get('/sandbox', async (req, res) => {
    const rows = await deps.db('sandbox_messages').orderBy('seq', 'desc').limit(2000).select<SandboxMessageRow[]>('*');
    const contents = await contentsOf(deps.db, rows);
    const threads = new Map<string, Thread>();
    for (const row of rows.reverse()) {
      const phone = row.direction === 'inbound' ? row.from : row.to;
      const sender = row.direction === 'inbound' ? row.to : row.from;
      const key = `${phone}|${sender}`;
      if (!threads.has(key)) {
        threads.set(key, { phone, sender, channel: phone.startsWith('whatsapp:') ? 'whatsapp' : 'sms', messages: [] });
      }
      const content = row.content_sid ? contents.get(row.content_sid) : undefined;
      threads.get(key)!.messages.push({ ...row, rendered: content ? renderContent(content, variablesOf(row)) : null });
    }
    const ordered = [...threads.values()].sort(
      (a, b) =>
        b.messages[b.messages.length - 1]!.date_created.getTime() -
        a.messages[a.messages.length - 1]!.date_created.getTime(),
    );
    const credentials = await deps.credentials();
    res.render('sandbox/index', {
      title: 'Twilio sandbox',
      threads: ordered.slice(0, 200),
      credentials: req.user?.role === 'admin' ? credentials : null,
      accountSid: credentials.accountSid,
    });
  });
  return router;
}

async function contentsOf(db: Db, rows: SandboxMessageRow[]): Promise<Map<string, SandboxContentRow>> {
  const sids = [...new Set(rows.map((row) => row.content_sid).filter((sid): sid is string => Boolean(sid)))];
  if (sids.length === 0) return new Map();
  const found = await db('sandbox_contents').whereIn('sid', sids).select<SandboxContentRow[]>('*');
  return new Map(found.map((content) => [content.sid, content]));
}

function variablesOf(row: SandboxMessageRow): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(row.content_variables ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}
