import { z } from 'zod';
import { DomainError } from './decider.ts';

/**
 * A WhatsApp template's content (F5) and WhatsApp's rules for it, checked before anything is submitted: a body of
 * at most 1,024 characters with numbered variables `{{1}}…` (never at the start or the end, never two side by
 * side), an optional footer (≤ 60), an optional media header of one type, and buttons: 1–3 quick replies, or a
 * call to action (a URL button, optionally ending in one variable, and/or a phone button).
 */

export const TEMPLATE_CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION'] as const;
export const HEADER_TYPES = ['image', 'document', 'video'] as const;
export type HeaderType = (typeof HEADER_TYPES)[number];

/** The file types WhatsApp takes in a header, by header type (LivePerson's list). */
export const HEADER_EXTENSIONS: Record<HeaderType, string[]> = {
  image: ['jpg', 'jpeg', 'png'],
  document: ['pdf'],
  video: ['mp4', '3gpp'],
};

export const BODY_MAX = 1024;
export const FOOTER_MAX = 60;
export const BUTTON_TITLE_MAX = 25;
/** The placeholder a URL button's address may end with: the one button variable. */
export const URL_BUTTON_VARIABLE = '{{1}}';

/**
 * Text bounded far above the rule's own limit where there is one, so that hostile input gets the rule's message;
 * URLs and sample values (no rule of their own) at WhatsApp's 2,000.
 */
const text = (max: number) => z.string().max(max, `is too long: at most ${max.toLocaleString('en-US')} characters`);

const buttonsSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('quick-reply'), replies: z.array(text(20_000)).max(10) }),
  z.object({
    type: z.literal('call-to-action'),
    url: z.object({ title: text(20_000), url: text(2000) }).nullable(),
    phone: z.object({ title: text(20_000), phone: text(20_000) }).nullable(),
  }),
]);

export const templateContentSchema = z.object({
  name: text(20_000),
  language: text(20_000),
  category: text(20_000),
  header: z.object({ type: z.enum(HEADER_TYPES), sampleUrl: text(2000) }).nullable(),
  body: text(20_000),
  footer: text(20_000).nullable(),
  buttons: buttonsSchema,
  /** A sample value for each body variable (and the URL button's), by number, as WhatsApp's review asks. */
  samples: z.record(z.string().max(8), text(2000)),
});
export type TemplateContent = z.infer<typeof templateContentSchema>;
export type TemplateKind = 'text' | 'media' | 'quick-reply' | 'call-to-action' | 'card';

/** Twilio's content type: text, media, quick reply, call to action; a media header with buttons is a card. */
export function templateKind(content: TemplateContent): TemplateKind {
  const buttons = content.buttons.type;
  if (content.header && buttons !== 'none') return 'card';
  if (content.header) return 'media';
  return buttons === 'none' ? 'text' : buttons;
}

/** LivePerson's "rich" template: anything but plain text. Rich templates are not used on the prioritized route. */
export const isRich = (content: TemplateContent) => templateKind(content) !== 'text';

const VARIABLE = /\{\{([^{}]*)\}\}/g;

/** The body's variable numbers in order of appearance. */
export function bodyVariables(body: string): string[] {
  return [...body.matchAll(VARIABLE)].map((match) => match[1]!);
}

/** How many body variables the template declares (they are numbered 1…n). */
export const bodyVariableCount = (content: Pick<TemplateContent, 'body'>) => new Set(bodyVariables(content.body)).size;

export const hasUrlVariable = (content: TemplateContent) =>
  content.buttons.type === 'call-to-action' && !!content.buttons.url?.url.endsWith(URL_BUTTON_VARIABLE);

/**
 * Where each value goes in Twilio's contentVariables: the body's 1…n as written, then the header's media URL,
 * then the URL button's suffix, numbered on from n.
 */
export function contentVariableLayout(content: TemplateContent): {
  body: number;
  header: string | null;
  button: string | null;
} {
  const body = bodyVariableCount(content);
  let next = body + 1;
  const header = content.header ? String(next++) : null;
  const button = hasUrlVariable(content) ? String(next) : null;
  return { body, header, button };
}

const fail = (code: string, message: string, field: string): never => {
  throw new DomainError(code, message, field);
};

const httpsUrl = (value: string): URL | null => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname ? url : null;
  } catch {
    return null;
  }
};

function checkBody(body: string): void {
  const field = 'body';
  if (body.trim() === '') fail('BODY_REQUIRED', 'The body is required.', field);
  if ([...body].length > BODY_MAX) {
    fail('BODY_TOO_LONG', `The body may hold at most ${BODY_MAX} characters (it has ${[...body].length}).`, field);
  }
  const names = bodyVariables(body);
  const bad = names.find((name) => !/^[1-9]\d{0,2}$/.test(name));
  if (bad !== undefined) {
    fail('INVALID_VARIABLE', `{{${bad}}} is not a variable: variables are numbered {{1}}, {{2}}, …`, field);
  }
  if (/\{\{|\}\}/.test(body.replace(VARIABLE, ''))) {
    fail('INVALID_VARIABLE', 'The body has unmatched {{ or }}: variables are written {{1}}, {{2}}, …', field);
  }
  const distinct = [...new Set(names.map(Number))].sort((a, b) => a - b);
  if (distinct.some((number, index) => number !== index + 1)) {
    fail('VARIABLES_NOT_SEQUENTIAL', `Variables must be numbered 1 to ${distinct.length} without gaps.`, field);
  }
  if (/^\s*\{\{[^{}]*\}\}/.test(body)) {
    fail('VARIABLE_AT_START', 'WhatsApp refuses a body that starts with a variable: put text before it.', field);
  }
  if (/\{\{[^{}]*\}\}[\s.!?]*$/.test(body)) {
    fail('VARIABLE_AT_END', 'WhatsApp refuses a body that ends with a variable: put text after it.', field);
  }
  if (/\{\{[^{}]*\}\}\s*\{\{/.test(body)) {
    fail('ADJACENT_VARIABLES', 'WhatsApp refuses two variables side by side: put text between them.', field);
  }
}

function checkHeader(header: NonNullable<TemplateContent['header']>): void {
  const url = httpsUrl(header.sampleUrl);
  if (!url) fail('INVALID_HEADER_MEDIA', 'The header’s sample media must be an https URL.', 'header.sampleUrl');
  const extension = url!.pathname.split('.').pop()?.toLowerCase() ?? '';
  const allowed = HEADER_EXTENSIONS[header.type];
  if (!allowed.includes(extension)) {
    fail(
      'INVALID_HEADER_MEDIA',
      `A ${header.type} header takes ${allowed.join(' or ')} files; the sample is not one.`,
      'header.sampleUrl',
    );
  }
}

function checkTitle(title: string, field: string): void {
  if (title.trim() === '') fail('BUTTON_TITLE_REQUIRED', 'Every button needs a title.', field);
  if ([...title].length > BUTTON_TITLE_MAX) {
    fail('BUTTON_TITLE_TOO_LONG', `A button title may hold at most ${BUTTON_TITLE_MAX} characters.`, field);
  }
  if (/\{\{|\}\}/.test(title)) fail('INVALID_VARIABLE', 'A button title cannot hold a variable.', field);
}

function checkButtons(buttons: TemplateContent['buttons']): void {
  switch (buttons.type) {
    case 'none':
      return;
    case 'quick-reply': {
      if (buttons.replies.length < 1 || buttons.replies.length > 3) {
        fail('QUICK_REPLY_COUNT', 'A quick-reply template has 1 to 3 buttons.', 'buttons.replies');
      }
      for (const [index, title] of buttons.replies.entries()) checkTitle(title, `buttons.replies.${index}`);
      if (new Set(buttons.replies.map((title) => title.trim())).size !== buttons.replies.length) {
        fail('DUPLICATE_BUTTON', 'Quick-reply buttons must have different titles.', 'buttons.replies');
      }
      return;
    }
    case 'call-to-action': {
      if (!buttons.url && !buttons.phone) {
        fail('BUTTON_REQUIRED', 'A call-to-action template needs a URL button or a phone button.', 'buttons');
      }
      if (buttons.url) {
        checkTitle(buttons.url.title, 'buttons.url.title');
        const fixed = buttons.url.url.endsWith(URL_BUTTON_VARIABLE)
          ? buttons.url.url.slice(0, -URL_BUTTON_VARIABLE.length)
          : buttons.url.url;
        if (/\{\{|\}\}/.test(fixed)) {
          fail('INVALID_VARIABLE', 'A URL button may hold one variable, {{1}}, at its very end.', 'buttons.url.url');
        }
        if (!httpsUrl(fixed)) fail('INVALID_URL', 'The URL button needs an https address.', 'buttons.url.url');
      }
      if (buttons.phone) {
        checkTitle(buttons.phone.title, 'buttons.phone.title');
        if (!/^\+[1-9]\d{6,14}$/.test(buttons.phone.phone)) {
          fail(
            'INVALID_NUMBER',
            'The phone button needs a number in E.164 form (+14155550100).',
            'buttons.phone.phone',
          );
        }
      }
      return;
    }
  }
}

/** Every rule a template must meet before it is drafted; throws a DomainError naming the field at fault. */
export function checkTemplateContent(content: TemplateContent): void {
  if (!/^[a-z0-9_]{1,512}$/.test(content.name)) {
    fail('INVALID_TEMPLATE_NAME', 'The name may hold lowercase letters, digits and underscores only (1–512).', 'name');
  }
  if (!/^[a-z]{2,3}([_-][A-Za-z]{2,4})?$/.test(content.language)) {
    fail('INVALID_LANGUAGE', 'The language is a code such as en, en_US or pt_BR.', 'language');
  }
  if (!(TEMPLATE_CATEGORIES as readonly string[]).includes(content.category)) {
    fail('INVALID_CATEGORY', `The category is one of ${TEMPLATE_CATEGORIES.join(', ')}.`, 'category');
  }
  checkBody(content.body);
  if (content.footer !== null) {
    if ([...content.footer].length > FOOTER_MAX) {
      fail('FOOTER_TOO_LONG', `The footer may hold at most ${FOOTER_MAX} characters.`, 'footer');
    }
    if (/\{\{|\}\}/.test(content.footer)) fail('INVALID_VARIABLE', 'The footer cannot hold a variable.', 'footer');
  }
  if (content.header) checkHeader(content.header);
  checkButtons(content.buttons);
  const { body, button } = contentVariableLayout(content);
  for (let number = 1; number <= body; number++) {
    if (!content.samples[String(number)]?.trim()) {
      fail(
        'SAMPLE_REQUIRED',
        `Give a sample value for {{${number}}}: WhatsApp reviews the template with it.`,
        `samples.${number}`,
      );
    }
  }
  if (button && !content.samples.button?.trim()) {
    fail('SAMPLE_REQUIRED', 'Give a sample value for the URL button’s variable.', 'samples.button');
  }
}

/** The body with values in place of its variables (a missing value leaves the placeholder). */
export function fillVariables(text: string, values: Record<string, string>): string {
  return text.replace(VARIABLE, (whole, name: string) => values[name] ?? whole);
}
