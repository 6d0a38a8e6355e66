import { z } from 'zod';
import { assertNever, DomainError, type EventsOf } from './decider.ts';

/**
 * The In-App channel (F6): the brand's mobile apps (`inapp-apps-{accountId}`, at most 4, as LivePerson allows) and
 * the devices its consumers register (InAppDeviceRegistered / InAppDeviceRemoved on the consumer's own stream, the
 * push token sealed with the consumer's key). Secrets of the push providers live outside the events.
 */

export const inAppAppsStream = (accountId: string) => `inapp-apps-${accountId}`;
export const MAX_INAPP_APPS = 4;
export const INAPP_PLATFORMS = ['ios', 'android', 'web'] as const;
export const platformSchema = z.enum(INAPP_PLATFORMS);
export type InAppPlatform = z.infer<typeof platformSchema>;
export const INAPP_PROVIDERS = ['push-proxy', 'fcm'] as const;
export type InAppProvider = (typeof INAPP_PROVIDERS)[number];

/** The brand's own app id: its bundle id (com.example.app) or package name, as typed in Settings. */
export const appIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'letters, digits, ".", "-" and "_" only, starting with a letter or digit (a bundle id)',
  );

export const InAppAppEvents = {
  InAppAppRegistered: z.object({
    accountId: z.string(),
    appId: z.string(),
    platform: platformSchema,
    provider: z.enum(INAPP_PROVIDERS),
    /** The push proxy's URL; null for FCM. */
    proxyUrl: z.string().nullable(),
    /** The FCM project of the service account; null for a push proxy. */
    fcmProjectId: z.string().nullable(),
  }),
  InAppAppRemoved: z.object({ accountId: z.string(), appId: z.string() }),
};
export type InAppAppEvent = EventsOf<typeof InAppAppEvents>;

export interface InAppApp {
  platform: InAppPlatform;
  provider: InAppProvider;
  proxyUrl: string | null;
  fcmProjectId: string | null;
}

export interface InAppApps {
  apps: Record<string, InAppApp>;
}

export type InAppAppCommand =
  | ({ type: 'RegisterApp' } & z.infer<typeof InAppAppEvents.InAppAppRegistered>)
  | { type: 'RemoveApp'; accountId: string; appId: string };

export const initialState = (): InAppApps => ({ apps: {} });

/** The app of that id; never a property of Object.prototype, whatever id a request names. */
export function appOf(state: InAppApps | null | undefined, appId: string): InAppApp | undefined {
  return state && Object.hasOwn(state.apps, appId) ? state.apps[appId] : undefined;
}

export const decide = (command: InAppAppCommand, state: InAppApps): InAppAppEvent[] => {
  switch (command.type) {
    case 'RegisterApp': {
      const { type: _type, ...data } = command;
      if (appOf(state, command.appId)) {
        throw new DomainError('APP_EXISTS', `${command.appId} is already an app of this account.`, 'appId');
      }
      if (Object.keys(state.apps).length >= MAX_INAPP_APPS) {
        throw new DomainError('TOO_MANY_APPS', `An account registers at most ${MAX_INAPP_APPS} apps.`, 'appId');
      }
      return [{ type: 'InAppAppRegistered', data }];
    }
    case 'RemoveApp':
      if (!appOf(state, command.appId)) throw new DomainError('APP_NOT_FOUND', 'No such app in this account.', 'appId');
      return [{ type: 'InAppAppRemoved', data: { accountId: command.accountId, appId: command.appId } }];
    default:
      return assertNever(command);
  }
};

export const evolve = (state: InAppApps, event: InAppAppEvent): InAppApps => {
  switch (event.type) {
    case 'InAppAppRegistered': {
      const { platform, provider, proxyUrl, fcmProjectId } = event.data;
      return { apps: { ...state.apps, [event.data.appId]: { platform, provider, proxyUrl, fcmProjectId } } };
    }
    case 'InAppAppRemoved': {
      const { [event.data.appId]: _removed, ...apps } = state.apps;
      return { apps };
    }
    default:
      return assertNever(event);
  }
};

/** Why a device left: the consumer logged out (the brand's DELETE), or the push provider said the token is dead. */
export const DEVICE_REMOVAL_REASONS = ['logout', 'unregistered', 'gone'] as const;

export const InAppDeviceEvents = {
  InAppDeviceRegistered: z.object({
    accountId: z.string(),
    consumerRef: z.string(),
    deviceId: z.string(),
    appId: z.string(),
    platform: platformSchema,
    /** The push token, sealed with the consumer's key. */
    sealedToken: z.string(),
    /** The device's IANA zone, when the app told it: the receiving window is kept there. */
    timeZone: z.string().nullable(),
    registeredAt: z.string(),
  }),
  InAppDeviceRemoved: z.object({
    accountId: z.string(),
    consumerRef: z.string(),
    deviceId: z.string(),
    reason: z.enum(DEVICE_REMOVAL_REASONS),
    detail: z.string().nullable(),
  }),
};
export type InAppDeviceEvent = EventsOf<typeof InAppDeviceEvents>;
export type InAppDeviceRegistered = z.infer<typeof InAppDeviceEvents.InAppDeviceRegistered>;

export interface InAppDevice {
  appId: string;
  platform: InAppPlatform;
  sealedToken: string;
  timeZone: string | null;
  registeredAt: string;
}

/** The consumer's devices as the consumer decider folds them. */
export type Devices = Record<string, InAppDevice>;

export function evolveDevices(devices: Devices, event: InAppDeviceEvent): Devices {
  switch (event.type) {
    case 'InAppDeviceRegistered': {
      const { appId, platform, sealedToken, timeZone, registeredAt } = event.data;
      return { ...devices, [event.data.deviceId]: { appId, platform, sealedToken, timeZone, registeredAt } };
    }
    case 'InAppDeviceRemoved': {
      const { [event.data.deviceId]: _removed, ...rest } = devices;
      return rest;
    }
    default:
      return assertNever(event);
  }
}

/** Registering the same token again (same device id) with the same zone records nothing. */
export function decideRegisterDevice(devices: Devices, registration: InAppDeviceRegistered): InAppDeviceEvent[] {
  const known = Object.hasOwn(devices, registration.deviceId) ? devices[registration.deviceId] : undefined;
  if (known && known.timeZone === registration.timeZone && known.appId === registration.appId) return [];
  return [{ type: 'InAppDeviceRegistered', data: registration }];
}

export function decideRemoveDevice(
  devices: Devices,
  removal: z.infer<typeof InAppDeviceEvents.InAppDeviceRemoved>,
  options: { mustExist: boolean },
): InAppDeviceEvent[] {
  if (!Object.hasOwn(devices, removal.deviceId)) {
    if (options.mustExist) throw new DomainError('DEVICE_NOT_FOUND', 'No such device of this consumer.', 'deviceId');
    return [];
  }
  return [{ type: 'InAppDeviceRemoved', data: removal }];
}

/** The device a push for `appId` goes to: the one registered last. */
export function deviceFor(devices: Devices, appId: string): [string, InAppDevice] | null {
  const candidates = Object.entries(devices).filter(([, device]) => device.appId === appId);
  candidates.sort(([, a], [, b]) => (a.registeredAt < b.registeredAt ? 1 : -1));
  return candidates[0] ?? null;
}
