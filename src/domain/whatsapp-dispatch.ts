import type { DispatchDecision, DispatchFacts, Send } from './dispatch.ts';
import type { Template } from './template.ts';

/**
 * The WhatsApp part of the dispatch decision (DESIGN §4.3): a WhatsApp message goes out only while its template
 * is approved (a template paused, disabled or rejected after the campaign started stops its unsent messages,
 * saying why), as the template's ContentSid with the recipient's sealed values as contentVariables.
 */
export function decideWhatsAppStart(facts: DispatchFacts, base: Send): DispatchDecision {
  const route = facts.campaign.draft?.whatsapp;
  const template: Template | null | undefined = facts.template;
  if (!route) return { kind: 'fail', code: 'TEMPLATE_NOT_FOUND', message: 'The campaign names no WhatsApp template.' };
  if (template?.status !== 'approved') {
    const status = template?.status ?? 'deleted';
    const reason = template?.rejectionReason ? `: ${template.rejectionReason}` : '';
    return {
      kind: 'fail',
      code: 'TEMPLATE_NOT_APPROVED',
      message: `The WhatsApp template ${route.templateName} is ${status}${reason}; its unsent messages are stopped.`,
    };
  }
  return {
    kind: 'start',
    send: {
      ...base,
      body: template.content?.body ?? '',
      contentSid: template.contentSid ?? route.contentSid,
      contentVariables: facts.recipient?.variables ?? {},
    },
  };
}
