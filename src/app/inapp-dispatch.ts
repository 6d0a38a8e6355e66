import type { InAppApps } from '../domain/inapp.ts';
import type { PushContent } from '../domain/inapp-message.ts';
import type { SendFailure } from '../domain/message.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { CommandContext } from './handler.ts';
import { type DeviceDeps, loadInAppApps, removeDevice } from './inapp.ts';

/**
 * The failure codes of a push whose device is gone for good: the push proxy's 410, FCM's UNREGISTERED and
 * INVALID_ARGUMENT (a token FCM does not know). The message fails with the reason and the device is removed, so
 * later campaigns skip the consumer as `no-device` until their app registers again.
 */
export const DEVICE_GONE_CODES: Record<string, 'gone' | 'unregistered'> = {
  PUSH_PROXY_GONE: 'gone',
  UNREGISTERED: 'unregistered',
  INVALID_ARGUMENT: 'unregistered',
};

export async function removeGoneDevice(
  deps: DeviceDeps,
  push: PushContent,
  failure: SendFailure,
  context: CommandContext,
): Promise<void> {
  const reason = DEVICE_GONE_CODES[failure.code];
  if (!reason || failure.kind !== 'permanent') return;
  await removeDevice(
    deps,
    {
      accountId: push.accountId,
      consumerRef: push.consumerRef,
      deviceId: push.deviceId,
      reason,
      detail: `${failure.code}: ${failure.message}`,
    },
    context,
  );
}

/** The account's In-App apps, for an In-App message's dispatch decision (null for the other channels). */
export async function inAppAppsFor(store: EventStore, accountId: string, channel: string): Promise<InAppApps | null> {
  return channel === 'inapp' ? loadInAppApps({ store }, accountId) : null;
}
