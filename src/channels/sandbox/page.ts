import { Router } from 'express';
import type { Db } from '../../infra/db.ts';
import type { SandboxCredentials, SandboxMessageRow } from './store.ts';

/** `/sandbox`: every sandbox phone's thread, where a person replies as the consumer (STOP included). */
export function sandboxPage(deps: { db: Db; credentials: () => Promise<SandboxCredentials> }): Router {
  const router = Router();
  router.get('/sandbox', async (req, res) => {
    const rows = await deps.db('sandbox_messages').orderBy('seq', 'desc').limit(2000).select<SandboxMessageRow[]>('*');
    const threads = new Map<string, { phone: string; sender: string; messages: SandboxMessageRow[] }>();
    for (const row of rows.reverse()) {
      const phone = row.direction === 'inbound' ? row.from : row.to;
      const sender = row.direction === 'inbound' ? row.to : row.from;
      const key = `${phone}|${sender}`;
      if (!threads.has(key)) threads.set(key, { phone, sender, messages: [] });
      threads.get(key)!.messages.push(row);
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
