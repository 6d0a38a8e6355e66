import type { Request, Response } from 'express';
import type { AppContext } from '../../app/context.ts';
import { foldStream } from '../../app/handler.ts';
import { inAppPartsOf } from '../../app/handoff-inapp.ts';
import { createInAppCampaign, MISSING_INAPP } from '../../app/inapp-campaigns.ts';
import * as account from '../../domain/account.ts';
import { requireSkill } from '../../domain/account-settings.ts';
import type { HandoffConfig } from '../../domain/handoff.ts';
import { type ApiCampaignInput, answerCreatedCampaign, apiCampaignFields } from './campaign-answer.ts';

/** The handoff's In-App channel when it comes first (a handoff's channels are in priority order). */
export function inAppChannelOf(config: HandoffConfig | null) {
  const first = config?.channels[0];
  return first?.type === 'inapp' ? first : null;
}

/** `consumerContent.inapp`: the brand's consumer id (a string, or a number written as one). */
function consumerIdOf(entry: unknown): string | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const content = (entry as { consumerContent?: unknown }).consumerContent;
  if (typeof content !== 'object' || content === null) return null;
  const id = (content as { inapp?: unknown }).inapp;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : null;
}

/**
 * LivePerson's In-App campaign (its "Inapp Handoff" example): consumers named by `consumerContent.inapp`, `variables`
 * optional (the handoff's defaults fill them), no outboundNumber. Accepted consumers carry `id` and
 * `consumerContent`, no `phoneNumber`; a consumer without the `inapp` key is MISSING_CONSUMER_INFORMATION=INAPP.
 */
export async function createInAppCampaignFromApi(
  app: AppContext,
  req: Request,
  res: Response,
  input: ApiCampaignInput,
): Promise<void> {
  const accountId = String(req.params.accountId);
  const { body, config } = input;
  const parts = inAppPartsOf(inAppChannelOf(config)!);
  const accountState = foldStream(account, await app.store.read(account.accountStream(accountId)));
  const skill = requireSkill(accountState.settings, body.skill);
  const entries = body.consumers.map((entry) => ({
    entry: (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>,
    consumerId: consumerIdOf(entry),
  }));
  const usable = entries.flatMap((parsed, index) => (parsed.consumerId ? [{ ...parsed, index }] : []));
  const created = await createInAppCampaign(
    { ...app, personalData: app.channels.personalData },
    {
      ...apiCampaignFields(req, input, skill[0]),
      appId: parts.appId,
      text: parts.text,
      title: parts.title,
      imageUrl: parts.imageUrl,
      linkUrl: parts.linkUrl,
      defaults: parts.defaults,
      recipients: usable.map(({ consumerId, entry }) => ({
        consumerId,
        variables:
          typeof entry.variables === 'object' && entry.variables !== null && !Array.isArray(entry.variables)
            ? (entry.variables as Record<string, unknown>)
            : undefined,
      })),
      imageHosts: app.config.INAPP_IMAGE_HOSTS,
    },
    { actor: req.apiClient!.clientId, correlationId: req.requestTraceId },
  );
  const errors = new Map<number, string>();
  const accepted = new Map<number, string>();
  for (const [index, parsed] of entries.entries()) if (!parsed.consumerId) errors.set(index, MISSING_INAPP);
  for (const outcome of created.outcomes) {
    const index = usable[outcome.index]!.index;
    if (outcome.error) errors.set(index, outcome.error);
    else accepted.set(index, outcome.messageId!);
  }
  const sorted = <T>(map: Map<number, T>) => [...map.entries()].sort(([a], [b]) => a - b);
  await answerCreatedCampaign(
    app,
    req,
    res,
    { ...created, skillId: skill[0] },
    {
      failedConsumers: sorted(errors).map(([index, errorMessage]) => ({ ...entries[index]!.entry, errorMessage })),
      acceptedConsumers: sorted(accepted).map(([index, id]) => ({
        id,
        consumerContent: entries[index]!.entry.consumerContent,
      })),
    },
  );
}
