import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/decider.ts';
import * as template from '../../src/domain/template.ts';
import {
  checkTemplateContent,
  contentVariableLayout,
  isRich,
  type TemplateContent,
  templateKind,
} from '../../src/domain/template-content.ts';
import { deciderSpec } from '../support/decider.ts';

const { given } = deciderSpec(template);
const ids = { accountId: 'acme', templateId: 't1' };
const at = '2026-12-01T10:00:00.000Z';

const text: TemplateContent = {
  name: 'order_ready',
  language: 'en_US',
  category: 'UTILITY',
  header: null,
  body: 'Hi {{1}}, your order {{2}} is ready.',
  footer: 'Acme Stores',
  buttons: { type: 'none' },
  samples: { '1': 'Ana', '2': '#1234' },
};
const media: TemplateContent = {
  ...text,
  name: 'order_photo',
  header: { type: 'image', sampleUrl: 'https://cdn.example.com/order.jpg' },
};
const quickReplies: TemplateContent = {
  ...text,
  name: 'order_confirm',
  category: 'MARKETING',
  buttons: { type: 'quick-reply', replies: ['Yes', 'No', 'Later'] },
};
const callToAction: TemplateContent = {
  ...text,
  name: 'order_track',
  buttons: {
    type: 'call-to-action',
    url: { title: 'Track', url: 'https://acme.example.com/track/{{1}}' },
    phone: { title: 'Call us', phone: '+14155550100' },
  },
  samples: { ...text.samples, button: 'A1B2' },
};

const drafted = (content: TemplateContent, duplicatedFrom: string | null = null) => ({
  type: 'TemplateDrafted' as const,
  data: { ...ids, content, duplicatedFrom, at },
});
const submitted = { type: 'TemplateSubmitted' as const, data: { ...ids, contentSid: 'HX123', at } };
const approval = (status: template.ApprovalStatus, reason: string | null = null) => ({
  type: 'TemplateApprovalChanged' as const,
  data: { ...ids, status, reason, at },
});

function refusal(content: TemplateContent): { code: string; field?: string; message: string } {
  try {
    checkTemplateContent(content);
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('template kinds', () => {
  it.each([
    ['text', text, 'text', false],
    ['media header', media, 'media', true],
    ['quick replies', quickReplies, 'quick-reply', true],
    ['call to action', callToAction, 'call-to-action', true],
    ['media header with quick replies', { ...quickReplies, header: media.header }, 'card', true],
  ] as const)('a %s template is drafted', (_, content, kind, rich) => {
    given([])
      .when({ type: 'DraftTemplate', ...ids, content, at })
      .then([drafted(content)]);
    expect(templateKind(content)).toBe(kind);
    expect(isRich(content)).toBe(rich);
  });

  it('each header type takes its own files', () => {
    for (const [type, url] of [
      ['image', 'https://x.example/a.png'],
      ['document', 'https://x.example/a.pdf'],
      ['video', 'https://x.example/a.mp4'],
    ] as const) {
      expect(() => checkTemplateContent({ ...media, header: { type, sampleUrl: url } })).not.toThrow();
    }
    expect(refusal({ ...media, header: { type: 'image', sampleUrl: 'https://x.example/a.pdf' } }).code).toBe(
      'INVALID_HEADER_MEDIA',
    );
    expect(refusal({ ...media, header: { type: 'video', sampleUrl: 'http://x.example/a.mp4' } }).code).toBe(
      'INVALID_HEADER_MEDIA',
    );
  });

  it('lays out contentVariables: body first, then the header, then the URL button', () => {
    expect(contentVariableLayout(text)).toEqual({ body: 2, header: null, button: null });
    expect(contentVariableLayout(media)).toEqual({ body: 2, header: '3', button: null });
    expect(contentVariableLayout({ ...callToAction, header: media.header })).toEqual({
      body: 2,
      header: '3',
      button: '4',
    });
  });
});

describe('template refusals', () => {
  it.each([
    ['a name with capitals', { ...text, name: 'Order_Ready' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['a name with a space', { ...text, name: 'order ready' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['an empty name', { ...text, name: '' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['a name with NUL', { ...text, name: 'order\u0000' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['a name with an RTL mark', { ...text, name: 'order\u200f' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['a name with an emoji', { ...text, name: 'order_😀' }, 'INVALID_TEMPLATE_NAME', 'name'],
    ['no language', { ...text, language: '' }, 'INVALID_LANGUAGE', 'language'],
    ['an unknown category', { ...text, category: 'PROMO' }, 'INVALID_CATEGORY', 'category'],
    ['an empty body', { ...text, body: '  ', samples: {} }, 'BODY_REQUIRED', 'body'],
    ['a body of 1,025 characters', { ...text, body: `A${'b'.repeat(1023)}c`, samples: {} }, 'BODY_TOO_LONG', 'body'],
    ['a body of 10,000 characters', { ...text, body: 'x'.repeat(10_000), samples: {} }, 'BODY_TOO_LONG', 'body'],
    [
      'a body starting with a variable',
      { ...text, body: '{{1}}, your order {{2}} is ready.' },
      'VARIABLE_AT_START',
      'body',
    ],
    ['a body ending with a variable', { ...text, body: 'Hi {{1}}, your order is {{2}}' }, 'VARIABLE_AT_END', 'body'],
    [
      'a body ending with a variable and a full stop',
      { ...text, body: 'Hi {{1}}, order {{2}}.' },
      'VARIABLE_AT_END',
      'body',
    ],
    ['two variables side by side', { ...text, body: 'Hi {{1}} {{2}} is ready.' }, 'ADJACENT_VARIABLES', 'body'],
    ['two variables touching', { ...text, body: 'Hi {{1}}{{2}} is ready.' }, 'ADJACENT_VARIABLES', 'body'],
    ['a named variable', { ...text, body: 'Hi {{name}}, ready.' }, 'INVALID_VARIABLE', 'body'],
    ['an unmatched brace', { ...text, body: 'Hi {{1}, ready.' }, 'INVALID_VARIABLE', 'body'],
    ['a gap in the numbers', { ...text, body: 'Hi {{1}}, order {{3}} is ready.' }, 'VARIABLES_NOT_SEQUENTIAL', 'body'],
    ['a missing sample', { ...text, samples: { '1': 'Ana' } }, 'SAMPLE_REQUIRED', 'samples.2'],
    ['a footer of 61 characters', { ...text, footer: 'f'.repeat(61) }, 'FOOTER_TOO_LONG', 'footer'],
    ['a footer with a variable', { ...text, footer: 'By {{1}}' }, 'INVALID_VARIABLE', 'footer'],
    [
      'no quick reply',
      { ...quickReplies, buttons: { type: 'quick-reply', replies: [] } },
      'QUICK_REPLY_COUNT',
      'buttons.replies',
    ],
    [
      'four quick replies',
      { ...quickReplies, buttons: { type: 'quick-reply', replies: ['a', 'b', 'c', 'd'] } },
      'QUICK_REPLY_COUNT',
      'buttons.replies',
    ],
    [
      'two quick replies alike',
      { ...quickReplies, buttons: { type: 'quick-reply', replies: ['Yes', 'Yes'] } },
      'DUPLICATE_BUTTON',
      'buttons.replies',
    ],
    [
      'a quick reply of 26 characters',
      { ...quickReplies, buttons: { type: 'quick-reply', replies: ['y'.repeat(26)] } },
      'BUTTON_TITLE_TOO_LONG',
      'buttons.replies.0',
    ],
    [
      'a call to action without buttons',
      { ...callToAction, buttons: { type: 'call-to-action', url: null, phone: null } },
      'BUTTON_REQUIRED',
      'buttons',
    ],
    [
      'a URL button on http',
      {
        ...callToAction,
        buttons: { type: 'call-to-action', url: { title: 'Go', url: 'http://a.example/' }, phone: null },
      },
      'INVALID_URL',
      'buttons.url.url',
    ],
    [
      'a URL button with a variable in the middle',
      {
        ...callToAction,
        buttons: { type: 'call-to-action', url: { title: 'Go', url: 'https://a.example/{{1}}/x' }, phone: null },
      },
      'INVALID_VARIABLE',
      'buttons.url.url',
    ],
    [
      'a URL variable without a sample',
      { ...callToAction, samples: text.samples },
      'SAMPLE_REQUIRED',
      'samples.button',
    ],
    [
      'a phone button without E.164',
      {
        ...callToAction,
        buttons: { type: 'call-to-action', url: null, phone: { title: 'Call', phone: '4155550100' } },
      },
      'INVALID_NUMBER',
      'buttons.phone.phone',
    ],
  ] as [string, TemplateContent, string, string][])('refuses %s', (_, content, code, field) => {
    const refused = refusal(content);
    expect(refused.code).toBe(code);
    expect(refused.field).toBe(field);
    given([])
      .when({ type: 'DraftTemplate', ...ids, content, at })
      .thenThrows(code);
  });

  it('says why WhatsApp refuses variables at the edges and side by side', () => {
    expect(refusal({ ...text, body: '{{1}} is ready {{2}} now' }).message).toMatch(/starts with a variable/);
    expect(refusal({ ...text, body: 'Ready {{1}} now {{2}}' }).message).toMatch(/ends with a variable/);
    expect(refusal({ ...text, body: 'Ready {{1}}{{2}} now' }).message).toMatch(/side by side/);
  });

  it('takes emoji and RTL text in the body, counted as characters', () => {
    const body = `שלום {{1}} 😀 ${'é'.repeat(1000)} {{2}} ok`;
    expect(() => checkTemplateContent({ ...text, body })).not.toThrow();
  });
});

describe('the template lifecycle', () => {
  it('a draft is edited; an id is not drafted twice', () => {
    given([drafted(text)])
      .when({ type: 'EditTemplate', ...ids, content: quickReplies, at })
      .then([drafted(quickReplies)]);
    given([drafted(text)])
      .when({ type: 'DraftTemplate', ...ids, content: text, at })
      .thenThrows('TEMPLATE_EXISTS');
  });

  it('submitted, then approved', () => {
    given([drafted(text)])
      .when({ type: 'SubmitTemplate', ...ids, contentSid: 'HX123', at })
      .then([submitted]);
    given([drafted(text), submitted])
      .when({ type: 'RecordApproval', ...ids, status: 'approved', reason: 'ignored', at })
      .then([approval('approved')]);
  });

  it('records a rejection with its reason, once', () => {
    given([drafted(text), submitted])
      .when({ type: 'RecordApproval', ...ids, status: 'rejected', reason: 'INVALID_FORMAT', at })
      .then([approval('rejected', 'INVALID_FORMAT')]);
    given([drafted(text), submitted, approval('rejected', 'INVALID_FORMAT')])
      .when({ type: 'RecordApproval', ...ids, status: 'rejected', reason: 'INVALID_FORMAT', at })
      .then([]);
  });

  it('an approved template cannot be edited or submitted again', () => {
    const history = [drafted(text), submitted, approval('approved')];
    given(history)
      .when({ type: 'EditTemplate', ...ids, content: text, at })
      .thenThrows('TEMPLATE_NOT_EDITABLE');
    given(history)
      .when({ type: 'SubmitTemplate', ...ids, contentSid: 'HX9', at })
      .thenThrows('TEMPLATE_ALREADY_SUBMITTED');
    given([drafted(text), submitted])
      .when({ type: 'EditTemplate', ...ids, content: text, at })
      .thenThrows('TEMPLATE_NOT_EDITABLE');
  });

  it('a rejected template can be reworked and submitted again', () => {
    const history = [drafted(text), submitted, approval('rejected', 'TAG_CONTENT_MISMATCH')];
    given(history)
      .when({ type: 'EditTemplate', ...ids, content: media, at })
      .then([drafted(media)]);
    const state = [...history, drafted(media)].reduce(template.evolve, template.initialState());
    expect(state).toMatchObject({ status: 'draft', contentSid: null, rejectionReason: null });
  });

  it('an approved template is duplicated into a new draft with a new name', () => {
    const source = [drafted(text), submitted, approval('approved')].reduce(template.evolve, template.initialState());
    const copy = { ...text, name: 'order_ready_v2' };
    given([])
      .when({
        type: 'DuplicateTemplate',
        ...ids,
        templateId: 't2',
        source: { ...source, id: 't1' },
        name: copy.name,
        at,
      })
      .then([{ type: 'TemplateDrafted', data: { ...ids, templateId: 't2', content: copy, duplicatedFrom: 't1', at } }]);
    given([])
      .when({
        type: 'DuplicateTemplate',
        ...ids,
        templateId: 't2',
        source: { ...source, id: 't1' },
        name: 'Bad Name',
        at,
      })
      .thenThrows('INVALID_TEMPLATE_NAME');
    given([])
      .when({
        type: 'DuplicateTemplate',
        ...ids,
        accountId: 'other',
        templateId: 't2',
        source: { ...source, id: 't1' },
        name: copy.name,
        at,
      })
      .thenThrows('WHATSAPP_TEMPLATE_NOT_FOUND');
  });

  it('paused and approved are the statuses that matter for use', () => {
    const paused = [drafted(text), submitted, approval('approved'), approval('paused', 'LOW_QUALITY')].reduce(
      template.evolve,
      template.initialState(),
    );
    expect(paused).toMatchObject({ status: 'paused', rejectionReason: 'LOW_QUALITY' });
    expect(template.usable(paused)).toBe(false);
    const approved = [drafted(text), submitted, approval('approved')].reduce(template.evolve, template.initialState());
    expect(template.usable(approved)).toBe(true);
  });

  it('deleted once; another account cannot touch it', () => {
    given([drafted(text)])
      .when({ type: 'DeleteTemplate', ...ids, at })
      .then([{ type: 'TemplateDeleted', data: { ...ids, at } }]);
    given([drafted(text), { type: 'TemplateDeleted', data: { ...ids, at } }])
      .when({ type: 'DeleteTemplate', ...ids, at })
      .then([]);
    given([drafted(text)])
      .when({ type: 'DeleteTemplate', ...ids, accountId: 'other', at })
      .thenThrows('WHATSAPP_TEMPLATE_NOT_FOUND');
    given([drafted(text)])
      .when({ type: 'RecordApproval', ...ids, status: 'approved', reason: null, at })
      .thenThrows('TEMPLATE_NOT_SUBMITTED');
  });
});
