import { z } from 'zod';
import type { Db } from '../infra/db.ts';
import { open, seal } from '../infra/personal-data.ts';
import { serverSecret } from '../infra/server-secrets.ts';

/**
 * The secrets of each In-App app's push provider (F6), kept outside the events: the push proxy's signing secret,
 * or FCM's service account JSON sealed (AES-256-GCM) with this installation's credentials key.
 */

const CREDENTIALS_KEY = 'inapp-credentials-key';

export const serviceAccountSchema = z.object({
  type: z.literal('service_account'),
  project_id: z.string().min(1).max(200),
  client_email: z.string().min(3).max(320),
  private_key: z.string().min(40).max(10_000),
  token_uri: z.string().optional(),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export interface InAppCredentials {
  proxySecret: string | null;
  serviceAccount: ServiceAccount | null;
}

export async function storeInAppCredentials(db: Db, accountId: string, appId: string, credentials: InAppCredentials) {
  const key = await serverSecret(db, CREDENTIALS_KEY);
  await db('inapp_app_credentials')
    .insert({
      account_id: accountId,
      app_id: appId,
      proxy_secret: credentials.proxySecret,
      sealed_service_account: credentials.serviceAccount ? seal(key, credentials.serviceAccount) : null,
    })
    .onConflict(['account_id', 'app_id'])
    .merge();
}

export async function inAppCredentials(db: Db, accountId: string, appId: string): Promise<InAppCredentials | null> {
  const row = await db('inapp_app_credentials').where({ account_id: accountId, app_id: appId }).first();
  if (!row) return null;
  const sealed = row.sealed_service_account as string | null;
  return {
    proxySecret: (row.proxy_secret as string | null) ?? null,
    serviceAccount: sealed ? open<ServiceAccount>(await serverSecret(db, CREDENTIALS_KEY), sealed) : null,
  };
}
