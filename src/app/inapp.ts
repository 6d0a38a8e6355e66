import { randomBytes } from 'node:crypto';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { type ServiceAccount, serviceAccountSchema, storeInAppCredentials } from '../channels/inapp-credentials.ts';
import * as consumer from '../domain/consumer.ts';
import { DomainError } from '../domain/decider.ts';
import * as inapp from '../domain/inapp.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Db } from '../infra/db.ts';
import type { PersonalData } from '../infra/personal-data.ts';
import { type CommandContext, foldStream, handleCommand, writeStream } from './handler.ts';

/**
 * F6 use cases: the account's apps (Settings) with their push provider's secret kept outside the events, and the
 * consumers' devices (the brand's backend, over the API) on each consumer's own stream.
 */

interface Deps {
  store: EventStore;
  db: Db;
}

export interface DeviceDeps extends Deps {
  personalData: PersonalData;
}

export const newPushProxySecret = () => `pxsec_${randomBytes(24).toString('base64url')}`;

function invalid(field: string, message: string): never {
  throw new DomainError('INVALID_FIELD', `${field}: ${message}`, field);
}

function firstIssue(error: z.ZodError, prefix = ''): never {
  const issue = error.issues[0]!;
  const field = prefix + (issue.path.join('.') || 'body');
  return invalid(field, issue.message);
}

function parseServiceAccount(text: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    invalid('serviceAccount', 'must be the service account’s JSON key file, as Google Cloud gives it.');
  }
  const parsed = serviceAccountSchema.safeParse(json);
  if (!parsed.success) firstIssue(parsed.error, 'serviceAccount.');
  return parsed.data;
}

function parseProxyUrl(raw: string): string {
  const url = raw.trim();
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.username || url.length > 2048) {
    invalid('proxyUrl', 'must be an http(s) URL of at most 2048 characters.');
  }
  return url;
}

export async function loadInAppApps(deps: Pick<Deps, 'store'>, accountId: string): Promise<inapp.InAppApps> {
  return foldStream(inapp, await deps.store.read(inapp.inAppAppsStream(accountId)));
}

/**
 * Registers an app: a push proxy (its secret generated here and returned only by this call) or FCM (the service
 * account's JSON sealed with this installation's credentials key).
 */
export async function registerInAppApp(
  deps: Deps,
  input: {
    accountId: string;
    appId: string;
    platform: string;
    provider: string;
    proxyUrl?: string;
    serviceAccount?: string;
  },
  context: CommandContext,
) {
  const appId = inapp.appIdSchema.safeParse(input.appId);
  if (!appId.success) firstIssue(appId.error, 'appId');
  const platform = inapp.platformSchema.safeParse(input.platform);
  if (!platform.success) invalid('platform', `must be one of ${inapp.INAPP_PLATFORMS.join(', ')}.`);
  if (!(inapp.INAPP_PROVIDERS as readonly string[]).includes(input.provider)) {
    invalid('provider', `must be one of ${inapp.INAPP_PROVIDERS.join(', ')}.`);
  }
  const provider = input.provider as inapp.InAppProvider;
  const proxyUrl = provider === 'push-proxy' ? parseProxyUrl(input.proxyUrl ?? '') : null;
  const serviceAccount = provider === 'fcm' ? parseServiceAccount(input.serviceAccount ?? '') : null;
  const secret = provider === 'push-proxy' ? newPushProxySecret() : null;
  const result = await handleCommand(
    deps.store,
    inapp.inAppAppsStream(input.accountId),
    inapp,
    {
      type: 'RegisterApp',
      accountId: input.accountId,
      appId: appId.data,
      platform: platform.data,
      provider,
      proxyUrl,
      fcmProjectId: serviceAccount?.project_id ?? null,
    },
    context,
  );
  await storeInAppCredentials(deps.db, input.accountId, appId.data, { proxySecret: secret, serviceAccount });
  return { ...result, appId: appId.data, secret };
}

export async function removeInAppApp(deps: Deps, input: { accountId: string; appId: string }, context: CommandContext) {
  const result = await handleCommand(
    deps.store,
    inapp.inAppAppsStream(input.accountId),
    inapp,
    { type: 'RemoveApp', accountId: input.accountId, appId: input.appId },
    context,
  );
  await deps.db('inapp_app_credentials').where({ account_id: input.accountId, app_id: input.appId }).delete();
  return result;
}

export const deviceRegistrationSchema = z.object({
  appId: z.string().trim().min(1).max(255),
  platform: z.enum(inapp.INAPP_PLATFORMS, { message: `must be one of ${inapp.INAPP_PLATFORMS.join(', ')}` }),
  pushToken: z.string().trim().min(1).max(4096),
  timeZone: z
    .string()
    .max(64)
    .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as Europe/Paris')
    .optional(),
});

/** The brand's consumer id, as LivePerson's `consumerContent.inapp` and the device API's path carry it. */
export const inAppConsumerIdSchema = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[^\s/\\]+$/, 'no spaces or slashes');

/** Same token of the same app of the same consumer: the same device id (re-registering is harmless). */
async function deviceIdOf(deps: DeviceDeps, accountId: string, consumerRef: string, appId: string, token: string) {
  const digest = await deps.personalData.consumerRef(accountId, `inapp-device:${consumerRef}:${appId}:${token}`);
  return `dev_${digest.slice(0, 24)}`;
}

export async function registerDevice(
  deps: DeviceDeps,
  input: { accountId: string; consumerId: string; registration: unknown; now?: Date },
  context: CommandContext,
) {
  const consumerId = inAppConsumerIdSchema.safeParse(input.consumerId);
  if (!consumerId.success) firstIssue(consumerId.error, 'consumerId');
  const parsed = deviceRegistrationSchema.safeParse(input.registration);
  if (!parsed.success) firstIssue(parsed.error);
  const { appId, platform, pushToken, timeZone } = parsed.data;
  const apps = await loadInAppApps(deps, input.accountId);
  if (!inapp.appOf(apps, appId)) {
    throw new DomainError(
      'UNKNOWN_APP',
      `appId ${appId} is not an app registered in this account’s Settings.`,
      'appId',
    );
  }
  const consumerRef = await deps.personalData.inAppConsumerRef(input.accountId, consumerId.data);
  const deviceId = await deviceIdOf(deps, input.accountId, consumerRef, appId, pushToken);
  const sealedToken = await deps.personalData.sealFor(input.accountId, consumerRef, {
    pushToken,
    consumerId: consumerId.data,
  });
  const result = await writeStream(
    deps.store,
    consumer.consumerStream(input.accountId, consumerRef),
    consumer,
    (state) =>
      inapp.decideRegisterDevice(state.devices, {
        accountId: input.accountId,
        consumerRef,
        deviceId,
        appId,
        platform,
        sealedToken,
        timeZone: timeZone ?? null,
        registeredAt: (input.now ?? new Date()).toISOString(),
      }),
    context,
  );
  return { ...result, deviceId, consumerRef };
}

/**
 * Removes a device: the consumer logged out (`mustExist`: an unknown id is a 404), or a provider said its token is
 * dead (it may be gone already).
 */
export async function removeDevice(
  deps: DeviceDeps,
  input: {
    accountId: string;
    consumerRef: string;
    deviceId: string;
    reason: (typeof inapp.DEVICE_REMOVAL_REASONS)[number];
    detail?: string;
  },
  context: CommandContext,
) {
  return writeStream(
    deps.store,
    consumer.consumerStream(input.accountId, input.consumerRef),
    consumer,
    (state) =>
      inapp.decideRemoveDevice(
        state.devices,
        {
          accountId: input.accountId,
          consumerRef: input.consumerRef,
          deviceId: input.deviceId,
          reason: input.reason,
          detail: input.detail ?? null,
        },
        { mustExist: input.reason === 'logout' },
      ),
    context,
  );
}

/** The push token a device was registered with; null once the consumer is erased. */
export async function openDeviceToken(
  personalData: PersonalData,
  accountId: string,
  consumerRef: string,
  device: inapp.InAppDevice,
): Promise<{ pushToken: string; consumerId: string } | null> {
  try {
    return await personalData.openFor(accountId, consumerRef, device.sealedToken);
  } catch {
    return null;
  }
}
