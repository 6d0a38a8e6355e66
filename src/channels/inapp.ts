import { type Config, LEASE_MARGIN_MS } from '../config.ts';
import type { Db } from '../infra/db.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { LinkSigner } from '../infra/signed-links.ts';
import { pushThroughFcm } from './fcm.ts';
import { inAppCredentials } from './inapp-credentials.ts';
import { type ChannelProvider, ChannelSendError, type OutboundMessage } from './port.ts';
import { pushThroughProxy } from './push-proxy.ts';

/**
 * The In-App channel behind the channel port (F6): each app pushes through its own provider, chosen in Settings
 * (the brand's push proxy, or FCM HTTP v1). The push's deep link opens the in-app messaging window, `/m/<token>`.
 */
export function inAppChannel(deps: {
  db: Db;
  personalData: PersonalData;
  config: Pick<
    Config,
    'INAPP_LINK_TTL' | 'INAPP_PUSH_TIMEOUT_MS' | 'FCM_BASE_URL' | 'FCM_TOKEN_URL' | 'DISPATCH_LEASE_MS'
  >;
  /** Where the window is served: PUBLIC_URL, or this app's own address. */
  baseUrl: () => string;
  links?: LinkSigner;
  now?: () => Date;
}): ChannelProvider {
  const links = deps.links ?? new LinkSigner(deps.db);
  // A push still in flight when its lease ends would be reconciled before the provider answered.
  const timeoutMs = Math.min(deps.config.INAPP_PUSH_TIMEOUT_MS, deps.config.DISPATCH_LEASE_MS - LEASE_MARGIN_MS);
  const now = () => deps.now?.() ?? new Date();
  const permanent = (code: string, message: string) =>
    new ChannelSendError({ kind: 'permanent', code, message, source: 'system' });
  return {
    channel: 'inapp',
    supports: { deliveryReceipts: false, readReceipts: true, reconciliation: false, maxBodyLength: 1000 },
    async send(message: OutboundMessage) {
      const push = message.push;
      if (!push) throw permanent('NO_PUSH', 'An In-App message is sent as a push to a registered device.');
      const credentials = await inAppCredentials(deps.db, push.accountId, push.appId);
      if (!credentials) throw permanent('APP_REMOVED', `The app ${push.appId} has no push provider any more.`);
      const token = await links.sign(
        { accountId: push.accountId, messageId: push.messageId, consumerRef: push.consumerRef },
        now(),
        deps.config.INAPP_LINK_TTL,
      );
      const deepLink = `${deps.baseUrl()}/m/${token}`;
      if (push.provider === 'push-proxy') {
        if (!credentials.proxySecret || !push.proxyUrl)
          throw permanent('APP_MISCONFIGURED', 'The push proxy has no URL or secret.');
        return pushThroughProxy({
          push,
          secret: credentials.proxySecret,
          deepLink,
          timeoutMs,
          now,
        });
      }
      if (!credentials.serviceAccount) throw permanent('APP_MISCONFIGURED', 'The FCM app has no service account.');
      let device: { pushToken: string } | null = null;
      try {
        device = await deps.personalData.openFor<{ pushToken: string }>(
          push.accountId,
          push.consumerRef,
          push.sealedToken,
        );
      } catch {
        device = null;
      }
      if (!device) throw permanent('ERASED', 'The device’s token cannot be opened (the consumer was erased).');
      return pushThroughFcm({
        push,
        pushToken: device.pushToken,
        serviceAccount: credentials.serviceAccount,
        deepLink,
        baseUrl: deps.config.FCM_BASE_URL,
        tokenUrl: deps.config.FCM_TOKEN_URL,
        timeoutMs,
      });
    },
    // Neither a push proxy nor FCM can be asked what was pushed: an unconfirmed push is sent again (with its
    // messageId, so the proxy can drop a duplicate).
    async findSentSince() {
      return null;
    },
    parseStatusCallback() {
      return null;
    },
  };
}
