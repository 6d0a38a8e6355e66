import { DEFAULT_ACCOUNT_SEND_RATE } from './account-settings.ts';
import { type DispatchDecision, type DispatchFacts, dailyCapDetail, needsDailyAllowance } from './dispatch.ts';
import { appOf, deviceFor, type InAppApps } from './inapp.ts';
import { nextOpening } from './receiving-window.ts';
import { renderSms } from './sms.ts';

/**
 * The In-App part of the dispatch decision (F6), once the rules every channel shares (erased, cancelled, opted out,
 * open conversation) have passed: a device for the campaign's app, or Skipped `no-device`; the receiving window
 * (24 h unless set) in the device's zone, else the account's; the daily cap; then the push.
 */
export function decideInAppDispatch(facts: DispatchFacts, inAppApps: InAppApps | null): DispatchDecision {
  const { message, campaign, account, now } = facts;
  const queued = message.queued!;
  const draft = campaign.draft!;
  const appId = draft.inapp?.appId ?? queued.senderId;
  const app = appOf(inAppApps, appId);
  if (!app) return { kind: 'fail', code: 'APP_REMOVED', message: `The app ${appId} was removed from the account.` };
  const device = deviceFor(facts.consumer.devices, appId);
  if (!device)
    return { kind: 'skip', reason: 'no-device', detail: `No device of ${appId} is registered for the consumer.` };
  const [deviceId, registered] = device;
  const window = nextOpening({
    zones: registered.timeZone ? [registered.timeZone] : null,
    window: draft.window ?? account.settings.windows.inapp ?? null,
    now,
    defaultZone: account.settings.defaultTimeZone,
  });
  if (!window.open) return { kind: 'defer', until: window.until, zones: window.zones };
  if (needsDailyAllowance(message) && !facts.withinDailyCap) {
    return { kind: 'skip', reason: 'daily-cap', detail: dailyCapDetail(facts.dailyCap, 'inapp') };
  }
  const recipient = facts.recipient!;
  const rendered = renderSms(draft.text, recipient.variables);
  const text = rendered.ok ? rendered.text : draft.text;
  return {
    kind: 'start',
    send: {
      channel: 'inapp',
      senderId: appId,
      from: appId,
      to: deviceId,
      body: text,
      senderRate: 0,
      channelRate: account.settings.sendRates.inapp ?? DEFAULT_ACCOUNT_SEND_RATE,
      push: {
        accountId: facts.accountId,
        messageId: queued.messageId,
        appId,
        deviceId,
        consumerRef: queued.consumerRef,
        consumerId: recipient.consumerId ?? '',
        sealedToken: registered.sealedToken,
        title: draft.inapp?.title ?? '',
        body: draft.inapp?.notificationBody || text,
        imageUrl: draft.inapp?.imageUrl ?? null,
        provider: app.provider,
        proxyUrl: app.proxyUrl,
        fcmProjectId: app.fcmProjectId,
      },
    },
  };
}
