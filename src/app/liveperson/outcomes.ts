/**
 * A recipient's outcome in LivePerson's vocabulary: the status its reporting API uses, and the error source and
 * code of its error dictionary (`twilio_30003`, `outbound_twilio_21211`, `proactive_1400` …). Our finer statuses
 * and skip reasons stay in our own reporting (/api/v2/…/reporting); this is the one place that translates them.
 */

export interface MessageOutcomeRow {
  status: string;
  reason: string | null;
  error_source: string | null;
  error_code: string | null;
  error_message: string | null;
}

export interface LpOutcome {
  /** NOT_SENT, SCHEDULED, SENT, DELIVERED, READ, RESPONDED, FAILED or SKIPPED. */
  status: string;
  errorSource: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Our message statuses in LivePerson's vocabulary (its campaign status and reporting answers). */
export const LP_MESSAGE_STATUS: Record<string, string> = {
  queued: 'NOT_SENT',
  sending: 'NOT_SENT',
  retrying: 'NOT_SENT',
  deferred: 'SCHEDULED',
  sent: 'SENT',
  delivered: 'DELIVERED',
  read: 'READ',
  responded: 'RESPONDED',
  failed: 'FAILED',
  undelivered: 'FAILED',
  skipped: 'SKIPPED',
};

/**
 * Our skip reasons. LivePerson skips only for opt-outs (and, like us, for a cancelled campaign); an open
 * conversation, a landline or a limit is a failure with one of its proactive codes.
 */
const SKIPS: Record<string, Omit<LpOutcome, 'status'> & { status: 'SKIPPED' | 'FAILED' }> = {
  'opted-out': { status: 'SKIPPED', errorSource: null, errorCode: null, errorMessage: 'Consumer opted out' },
  cancelled: { status: 'SKIPPED', errorSource: null, errorCode: null, errorMessage: 'Campaign cancelled' },
  erased: { status: 'SKIPPED', errorSource: null, errorCode: null, errorMessage: 'Consumer data erased' },
  'open-conversation': {
    status: 'FAILED',
    errorSource: 'proactive',
    errorCode: '1400',
    errorMessage: 'Open conversation already exists',
  },
  landline: {
    status: 'FAILED',
    errorSource: 'proactive',
    errorCode: '1001',
    errorMessage: 'Consumer not eligible for this channel',
  },
  'daily-cap': {
    status: 'FAILED',
    errorSource: 'proactive',
    errorCode: '500',
    errorMessage: 'Message not sent: daily recipient limit reached',
  },
  'bot-users-missing': {
    status: 'FAILED',
    errorSource: 'proactive',
    errorCode: '500',
    errorMessage: 'Message not sent: the Proactive bot users are missing',
  },
};

/** Twilio's codes as LivePerson's dictionary words them (our wording), for the codes Twilio gives us. */
const TWILIO_MESSAGES: Record<string, string> = {
  '20003': 'Twilio error - permission denied',
  '20500': 'Twilio internal error',
  '21211': 'Twilio error - invalid "To" number',
  '21408': 'Twilio error - "From" number not enabled for the region',
  '21602': 'Twilio error - no message body',
  '21606': 'Twilio error - "From" number cannot send messages',
  '21610': 'Twilio error - "To" number opted out',
  '21611': 'Twilio error - message queue full',
  '21612': 'Twilio error - "To" number not reachable',
  '21614': 'Twilio error - not a mobile number',
  '21617': 'Twilio error - message over 1600 characters',
  '30001': 'Twilio error - queue overflow',
  '30002': 'Twilio error - account suspended',
  '30003': 'Twilio error - unreachable destination',
  '30004': 'Twilio error - message blocked',
  '30005': 'Twilio error - unknown destination',
  '30006': 'Twilio error - unreachable carrier',
  '30007': 'Twilio error - carrier violation',
  '30008': 'Twilio error - unknown error',
  '30032': 'Twilio error - toll-free number not verified',
};

export function lpOutcomeOf(row: MessageOutcomeRow): LpOutcome {
  if (row.status === 'skipped') {
    return SKIPS[row.reason ?? ''] ?? { status: 'SKIPPED', errorSource: null, errorCode: null, errorMessage: null };
  }
  const status = LP_MESSAGE_STATUS[row.status] ?? row.status.toUpperCase();
  if (row.status === 'undelivered') {
    // The carrier's verdict, from Twilio's status callback: LivePerson's `twilio_<code>`.
    const code = row.error_code ?? '30008';
    return { status, errorSource: 'twilio', errorCode: code, errorMessage: TWILIO_MESSAGES[code] ?? row.error_message };
  }
  if (row.status === 'failed') {
    if (row.error_source === 'provider') {
      // Twilio refused the send itself: LivePerson's `outbound_twilio_<code>`; no answer at all is its network error.
      const code = /^\d+$/.test(row.error_code ?? '') ? row.error_code! : 'ntw_err';
      const errorMessage = TWILIO_MESSAGES[code] ?? row.error_message;
      return { status, errorSource: 'outbound_twilio', errorCode: code, errorMessage };
    }
    return { status, errorSource: 'proactive', errorCode: '500', errorMessage: row.error_message };
  }
  return { status, errorSource: null, errorCode: null, errorMessage: null };
}

/**
 * The conversations API's status, within the proactive FAQ's list: DELIVERED once the provider has the message
 * (the FAQ's "delivered to our downstream service"), whatever the carrier said since, unless it failed.
 */
export function lpConversationStatusOf(row: MessageOutcomeRow): string {
  const { status } = lpOutcomeOf(row);
  return status === 'SENT' || status === 'READ' || status === 'RESPONDED' ? 'DELIVERED' : status;
}

/** `<source>_<code>`, the key of LivePerson's error_aggregation. */
export const errorKeyOf = (outcome: LpOutcome) =>
  outcome.errorSource && outcome.errorCode ? `${outcome.errorSource}_${outcome.errorCode}` : null;

/** The skip reasons LivePerson counts as failures (the rest stay SKIPPED). */
export const FAILED_SKIP_REASONS = Object.entries(SKIPS)
  .filter(([, outcome]) => outcome.status === 'FAILED')
  .map(([reason]) => reason);

/** The reporting API's statuses a `messagestatus` filter may name. */
export const LP_MESSAGE_STATUSES = [
  'NOT_SENT',
  'SCHEDULED',
  'SENT',
  'DELIVERED',
  'READ',
  'RESPONDED',
  'FAILED',
  'SKIPPED',
];

/** Which of our rows carry a LivePerson status: our statuses, and for skips whether the reason is a failure. */
export function ourStatesFor(lpStatus: string): { statuses: string[]; skipReasonFailed?: boolean } {
  if (lpStatus === 'SKIPPED') return { statuses: ['skipped'], skipReasonFailed: false };
  const statuses = Object.entries(LP_MESSAGE_STATUS)
    .filter(([ours, theirs]) => theirs === lpStatus && ours !== 'skipped')
    .map(([ours]) => ours);
  return lpStatus === 'FAILED' ? { statuses, skipReasonFailed: true } : { statuses };
}

/** LivePerson's channel names (the reporting and configuration APIs) and ours. */
export const LP_CHANNEL: Record<string, string> = { sms: 'sms', whatsapp: 'wa', inapp: 'inapp' };
export const OUR_CHANNEL: Record<string, string> = { sms: 'sms', wa: 'whatsapp', inapp: 'inapp' };
