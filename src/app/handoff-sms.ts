import { DomainError } from '../domain/decider.ts';
import type { HandoffConfig } from '../domain/handoff.ts';
import { DEFAULT_OPT_OUT_TEXT, placeholdersOf, SMS_MAX_LENGTH, smsLength } from '../domain/sms.ts';

type Channel = HandoffConfig['channels'][number];

/**
 * An SMS handoff needs a body whose text, with its opt-out line, fits one segment; the variables it declares must
 * be the placeholders its text uses.
 */
export function checkSmsComponent(channel: Channel, index: number): void {
  const bodyIndex = channel.messageComponents.findIndex((component) => component.type === 'body');
  const body = channel.messageComponents[bodyIndex];
  const field = `channels.${index}.messageComponents.${Math.max(bodyIndex, 0)}`;
  if (!body || body.content.trim() === '') {
    throw new DomainError('FIELD_REQUIRED', 'The SMS channel needs a body component with content.', `${field}.content`);
  }
  const length = smsLength(body.content, body.optOut ?? DEFAULT_OPT_OUT_TEXT);
  if (length > SMS_MAX_LENGTH) {
    throw new DomainError(
      'SMS_TOO_LONG',
      `The SMS text with its opt-out line is ${length} characters; at most ${SMS_MAX_LENGTH} fit one segment.`,
      `${field}.content`,
    );
  }
  if (body.variables) {
    const used = placeholdersOf(body.content);
    const declared = new Set(body.variables);
    const undeclared = used.filter((name) => !declared.has(name));
    if (undeclared.length > 0) {
      throw new DomainError(
        'UNDECLARED_VARIABLE',
        `The text uses ${undeclared.map((name) => `{{${name}}}`).join(', ')} but variables does not list it.`,
        `${field}.variables`,
      );
    }
  }
}
