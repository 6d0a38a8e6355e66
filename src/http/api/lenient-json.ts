import type { RequestHandler } from 'express';

/**
 * LivePerson's documented In-App campaign example has a trailing comma (`{"1": "…",}`): JSON.parse refuses it, yet
 * integrations copy it. The campaign endpoint alone reads its body leniently: commas right before `}` or `]`
 * outside strings are dropped, nothing else is. Any other body is parsed by express.json as usual.
 */
const CAMPAIGN_PATH = /^\/api\/v2\/account\/[^/]+\/campaign\/?$/;
const LIMIT = 5 * 1024 * 1024;

export function withoutTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++index] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    if (char === ',') {
      // The next character that is not white space, looked at in place: one pass over the body, however many commas.
      let next = index + 1;
      while (next < text.length && /\s/.test(text[next]!)) next++;
      if (text[next] === '}' || text[next] === ']') continue;
    }
    out += char;
  }
  return out;
}

export const lenientCampaignJson: RequestHandler = (req, _res, next) => {
  if (req.method !== 'POST' || !CAMPAIGN_PATH.test(req.path) || !req.is('application/json')) return next();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= LIMIT) chunks.push(chunk);
  });
  req.on('error', next);
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    // What this does not take is answered as express.json answers it (the error handler's 413 and 400 with the
    // parse position).
    if (size > LIMIT)
      return next(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 }));
    try {
      req.body = JSON.parse(text);
    } catch (strict) {
      try {
        req.body = JSON.parse(withoutTrailingCommas(text));
      } catch {
        return next(Object.assign(strict as Error, { type: 'entity.parse.failed', status: 400, body: text }));
      }
    }
    (req as unknown as { _body?: boolean })._body = true;
    next();
  });
};
