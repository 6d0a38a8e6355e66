import type { RequestHandler } from 'express';

/**
 * Text Postgres cannot store, refused once, at the door. A NUL is refused by `text` columns (22021) and by jsonb
 * (22P05, "unsupported Unicode escape sequence"), and a lone UTF-16 surrogate is not Unicode text at all: it
 * cannot be encoded as UTF-8 without being silently replaced. Either would surface as a 500 from deep inside a
 * handler, after other writes; refusing it before any handler runs means nothing is written.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the NUL is the point.
const UNSAFE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface UnsafeText {
  /** The offending field, as a dotted path (`consumers.0.consumerContent.sms`) in the product's API style. */
  field: string;
  problem: 'a NUL character' | 'a lone surrogate (not Unicode text)';
  /** True when the text is an object key rather than a value. */
  inKey: boolean;
}

function problemOf(text: string): UnsafeText['problem'] | null {
  const match = UNSAFE.exec(text);
  if (!match) return null;
  return match[0] === '\u0000' ? 'a NUL character' : 'a lone surrogate (not Unicode text)';
}

/**
 * The first string (value or key) anywhere in `value` that Postgres cannot store, or null. Walks with an explicit
 * stack, not recursion: a 5 MB body can nest arrays deeper than the call stack.
 */
export function findUnsafeText(value: unknown, root = ''): UnsafeText | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: root }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = problemOf(current);
      if (problem) return { field: path, problem, inKey: false };
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], path: join(path, String(index)) });
      }
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (const [key] of entries) {
        const problem = problemOf(key);
        if (problem) return { field: path, problem, inKey: true };
      }
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, child] = entries[index]!;
        stack.push({ value: child, path: join(path, key) });
      }
    }
  }
  return null;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function describeUnsafeText(found: UnsafeText): string {
  const where = found.field === '' ? 'the request' : found.field;
  return found.inKey
    ? `A field name in ${where} contains ${found.problem}; remove it.`
    : `${where} contains ${found.problem}; remove it.`;
}

function wantsJson(req: Parameters<RequestHandler>[0]): boolean {
  return (
    req.path.startsWith('/api/') ||
    req.path.startsWith('/oauth/') ||
    req.path.startsWith('/sentinel/') ||
    req.path.startsWith('/webhooks/') ||
    !req.accepts('html')
  );
}

/**
 * Every request's decoded path, query and parsed body (JSON or form) is checked before any route: 400 naming the
 * field. Multipart bodies are parsed inside their route (the CSV upload), which calls `findUnsafeText` itself.
 */
export const rejectUnsafeText: RequestHandler = (req, res, next) => {
  let found: UnsafeText | null = null;
  let path = req.path;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    // Not valid percent-encoding: Express answers that itself when it decodes the route's parameters.
  }
  const pathProblem = problemOf(path);
  if (pathProblem) found = { field: 'path', problem: pathProblem, inKey: false };
  found ??= findUnsafeText(req.query) ?? findUnsafeText(req.body);
  if (!found) return next();
  const code = 'INVALID_TEXT';
  const message = describeUnsafeText(found);
  res.status(400);
  if (wantsJson(req)) {
    res.json({ code, message, field: found.field, requestTraceId: req.requestTraceId ?? null });
    return;
  }
  res.render('errors/error', { title: 'That did not work', message, code });
};

/** The same check for an uploaded text file, naming the line: the CSV's rows are its lines. */
export function findUnsafeTextInFile(content: Buffer, field: string): UnsafeText | null {
  // Decoding maps bytes that are not UTF-8 to U+FFFD, so of the two problems only a NUL survives into the text.
  const text = content.toString('utf8');
  const match = UNSAFE.exec(text);
  if (!match) return null;
  const line = text.slice(0, match.index).split('\n').length;
  return { field: `${field} (line ${line})`, problem: problemOf(match[0])!, inKey: false };
}
