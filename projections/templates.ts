import type { TemplateEvent } from '../src/domain/template.ts';
import { templateKind } from '../src/domain/template-content.ts';
import type { RecordedEvent } from '../src/eventstore/port.ts';
import type { Projection } from '../src/projections/types.ts';

/** WhatsApp templates with their approval status, as the web tool lists them and the templates API answers. */
export const templatesProjection: Projection = {
  name: 'templates',
  tables: ['templates'],
  handles: ['TemplateDrafted', 'TemplateSubmitted', 'TemplateApprovalChanged', 'TemplateDeleted'],
  async project(events: RecordedEvent[], { trx, table }) {
    for (const recorded of events) {
      const event = recorded as unknown as TemplateEvent & RecordedEvent;
      const where = { account_id: event.data.accountId, template_id: event.data.templateId };
      const rows = () => trx(table('templates')).where(where);
      switch (event.type) {
        case 'TemplateDrafted': {
          const { content } = event.data;
          const fields = {
            name: content.name,
            language: content.language,
            category: content.category,
            kind: templateKind(content),
            status: 'draft',
            rejection_reason: null,
            content_sid: null,
            content: JSON.stringify(content),
            updated_at: recorded.createdAt,
          };
          await trx(table('templates'))
            .insert({
              ...where,
              ...fields,
              duplicated_from: event.data.duplicatedFrom,
              created_by: recorded.metadata.actor,
              created_at: recorded.createdAt,
            })
            .onConflict(['account_id', 'template_id'])
            .merge(fields);
          break;
        }
        case 'TemplateSubmitted':
          await rows().update({
            status: 'pending',
            content_sid: event.data.contentSid,
            rejection_reason: null,
            updated_at: recorded.createdAt,
          });
          break;
        case 'TemplateApprovalChanged':
          await rows().update({
            status: event.data.status,
            rejection_reason: event.data.reason,
            updated_at: recorded.createdAt,
          });
          break;
        case 'TemplateDeleted':
          await rows().update({ deleted_at: recorded.createdAt, updated_at: recorded.createdAt });
          break;
      }
    }
  },
};
