import type { DomainError } from '../../domain/decider.ts';

/**
 * The wizard speaks to a campaign manager, not to an API client: each code the preview or a refused publish shows
 * comes with what it means and what to do. The codes stay (they are the API's), the sentences are added.
 */

const PROBLEMS: Record<string, string> = {
  INVALID_NUMBER: 'Not a valid phone number.',
  COUNTRY_CODE_MISSING:
    'Written without its country code, so the country is unknown. Write it with the code (+1 479 555 0130), or set a default country in Settings.',
  NUMBER_IN_SCIENTIFIC_NOTATION:
    'Excel shortened this number to scientific notation and lost its last digits. Format the column as Text in Excel and export again.',
  DUPLICATE_NUMBER: 'The same number as an earlier row; only the first is sent.',
  LANDLINE: 'A landline: it cannot receive SMS.',
  MISSING_NUMBER: 'The number cell is empty.',
  INSUFFICIENT_VARIABLES: 'The message uses variables, and this row has none.',
  SMS_TOO_LONG: 'With this row’s values the message is longer than 140 characters.',
  TOO_MANY_VARIABLES: 'This row has more values than the message uses.',
  INSUFFICIENT_HEADER_VARIABLES:
    'The template’s header needs a media URL, and this row has none (its column is named for the header: image, video or document).',
  HEADER_VARIABLE_INVALID_URL:
    'The header’s media URL is not an https address: WhatsApp fetches media over https only.',
  IMAGE_URL_NOT_WHITELISTED:
    'The header’s media comes from a host that is not on the account’s media hosts (Settings → WhatsApp): use an allowed host, or add this one.',
  TOO_MANY_BUTTON_VARIABLES: 'This row has a button value, and the template’s button takes none.',
};

export function problemText(code: string): string {
  const [name, variable] = code.split('=');
  if (name === 'MISSING_VARIABLE')
    return `The message uses {{${variable}}}, and this row has no value for it (an empty cell, or no such column).`;
  if (name === 'VARIABLE_NOT_STRING') return `The value for {{${variable}}} is not text.`;
  if (name === 'MISSING_HEADER_VARIABLE')
    return `The template’s header is a ${variable}: give its URL in a ${variable} column.`;
  if (name === 'MISSING_BUTTON_VARIABLE' || name === 'BUTTON_VARIABLE_NOT_STRING')
    return 'The template’s URL button ends in a variable, and this row has no value for it (its column is button).';
  return PROBLEMS[code] ?? 'This row cannot be sent.';
}

/** Which wizard field a refusal is about (the API names fields by its own names). */
const FIELDS: Record<string, string> = {
  campaignName: 'name',
  outboundNumber: 'senderId',
  consumers: 'recipients',
};

export function publishError(error: DomainError): { code: string; message: string; field: string | null } {
  const field = error.field ? (FIELDS[error.field] ?? error.field) : null;
  const say = (message: string) => ({ code: error.code, message, field });
  switch (error.code) {
    case 'CONSENT_REQUIRED':
      return say(
        'Tick “These consumers agreed to receive messages from us” to confirm you have their consent, then publish again. Outbound sends only to consumers who agreed.',
      );
    case 'INVALID_FIELD':
      if (field === 'name') return say('Give the campaign a name (up to 255 characters).');
      if (field === 'sendAt')
        return say('Choose a time in the future, at most 90 days ahead, to schedule the campaign.');
      return say(error.message);
    case 'UNKNOWN_SENDER':
      // A WhatsApp campaign's senders are its handoff's, and the refusal says which one is missing.
      if (error.field !== 'outboundNumber' || /WhatsApp/.test(error.message)) return say(error.message);
      return say('Choose the SMS number to send from. If the list is empty, add a sender in Settings first.');
    case 'PROACTIVE_NOT_ACTIVE':
      return say('Proactive is not active for this account yet: an Admin activates it on the Proactive page.');
    case 'SMS_TOO_LONG':
      return say(`Shorten the message. ${error.message}`);
    case 'NO_RECIPIENTS':
      // The campaign's own refusal (every row rejected) names `consumers`; the wizard's (nothing parsed) does not.
      return error.field === 'consumers'
        ? say('None of the parsed rows can be sent. Fix the rows the preview marks, then parse the list again.')
        : say(error.message);
    default:
      return say(error.message);
  }
}
