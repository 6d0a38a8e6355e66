import type * as campaign from '../domain/campaign.ts';
import * as template from '../domain/template.ts';
import type { EventStore } from '../eventstore/port.ts';
import { StreamCache } from './stream-cache.ts';

/**
 * The dispatcher's WhatsApp fact: a campaign's template as its stream says, at most a second old, so that a
 * template paused after the campaign started stops the messages not yet sent.
 */
export function whatsappTemplateOf(store: EventStore) {
  const templates = new StreamCache(store, template, 1000);
  return async (accountId: string, campaignState: campaign.Campaign): Promise<template.Template | null> => {
    const route = campaignState.draft?.whatsapp;
    if (!route) return null;
    const state = await templates.get(template.templateStream(route.templateId));
    return state.accountId === accountId && state.status !== 'deleted' ? state : null;
  };
}
