import { z } from 'zod';

const optionalUrl = (schemes: string[]) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((value) => schemes.some((scheme) => value.startsWith(`${scheme}://`)), {
      message: `must start with ${schemes.map((scheme) => `${scheme}://`).join(' or ')}`,
    })
    .optional();

/** How much longer than a provider request a dispatch lease must last. */
export const LEASE_MARGIN_MS = 1000;

const emptyAsUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const environmentSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    DATABASE_URL: z.preprocess(emptyAsUndefined, optionalUrl(['postgres', 'postgresql'])),
    EVENT_STORE: z.preprocess(emptyAsUndefined, z.enum(['postgres', 'eventstoredb']).default('postgres')),
    EVENTSTORE_URL: z.preprocess(emptyAsUndefined, optionalUrl(['kurrentdb', 'esdb', 'kurrent', 'esdb+discover'])),
    TWILIO_ACCOUNT_SID: z.preprocess(emptyAsUndefined, z.string().optional()),
    TWILIO_AUTH_TOKEN: z.preprocess(emptyAsUndefined, z.string().optional()),
    TWILIO_SANDBOX_ACCOUNT_SID: z.preprocess(emptyAsUndefined, z.string().optional()),
    TWILIO_SANDBOX_AUTH_TOKEN: z.preprocess(emptyAsUndefined, z.string().optional()),
    TWILIO_SANDBOX_URL: z.preprocess(emptyAsUndefined, optionalUrl(['http', 'https'])),
    PUBLIC_URL: z.preprocess(emptyAsUndefined, optionalUrl(['http', 'https'])),
    ROLE: z.preprocess(emptyAsUndefined, z.enum(['all', 'web', 'worker']).default('all')),
    ADMIN_EMAIL: z.preprocess(emptyAsUndefined, z.email().default('admin@example.com')),
    ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(8).optional()),
    ACCOUNT_ID: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (at most 64)')
        .default('default'),
    ),
    DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('./.data')),
    LOG_LEVEL: z.preprocess(
      emptyAsUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    TWILIO_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
    DISPATCH_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
    DISPATCH_GIVE_UP_MS: z.coerce
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000)
      .default(3_600_000),
    DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(48),
    API_RATE_LIMIT_TPS: z.coerce.number().int().min(0).max(100_000).default(10),
    OIDC_ISSUER: z.preprocess(emptyAsUndefined, optionalUrl(['http', 'https'])),
    OIDC_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
    OIDC_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
    WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(12),
    /** How often WhatsApp template approvals are polled (F5). */
    TEMPLATE_POLL_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
    /** F6: how long an in-app messaging window link lives, in seconds (7 days). */
    INAPP_LINK_TTL: z.coerce
      .number()
      .int()
      .min(60)
      .max(90 * 86_400)
      .default(7 * 86_400),
    /** F6: comma-separated hosts In-App images may come from; empty: any https host. */
    INAPP_IMAGE_HOSTS: z.preprocess(emptyAsUndefined, z.string().optional()),
    /** F6: FCM HTTP v1's base URL and Google's OAuth2 token URL (local receivers in tests). */
    FCM_BASE_URL: z.preprocess(emptyAsUndefined, optionalUrl(['http', 'https']).default('https://fcm.googleapis.com')),
    FCM_TOKEN_URL: z.preprocess(emptyAsUndefined, optionalUrl(['http', 'https'])),
    INAPP_PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  })
  .superRefine((env, ctx) => {
    if (env.EVENT_STORE === 'eventstoredb' && !env.EVENTSTORE_URL) {
      ctx.addIssue({ code: 'custom', path: ['EVENTSTORE_URL'], message: 'is required when EVENT_STORE=eventstoredb' });
    }
    const oidc = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: [!env.OIDC_ISSUER ? 'OIDC_ISSUER' : !env.OIDC_CLIENT_ID ? 'OIDC_CLIENT_ID' : 'OIDC_CLIENT_SECRET'],
        message: 'OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together',
      });
    }
    // A send still in flight when its lease ends would be reconciled before the provider answered.
    if (env.DISPATCH_LEASE_MS < env.TWILIO_TIMEOUT_MS + LEASE_MARGIN_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISPATCH_LEASE_MS'],
        message: `must exceed TWILIO_TIMEOUT_MS by at least ${LEASE_MARGIN_MS} ms (DISPATCH_LEASE_MS=${env.DISPATCH_LEASE_MS}, TWILIO_TIMEOUT_MS=${env.TWILIO_TIMEOUT_MS})`,
      });
    }
    if (env.DISPATCH_GIVE_UP_MS <= env.DISPATCH_LEASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['DISPATCH_GIVE_UP_MS'],
        message: `must be longer than DISPATCH_LEASE_MS (${env.DISPATCH_LEASE_MS})`,
      });
    }
    if (env.ROLE === 'worker' && !env.TWILIO_ACCOUNT_SID && !env.TWILIO_SANDBOX_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_SANDBOX_URL'],
        message:
          "is required for ROLE=worker without Twilio credentials: a worker serves no HTTP, so it sends through the web process's sandbox (e.g. http://web:3000/sandbox/twilio)",
      });
    }
    if (Boolean(env.TWILIO_ACCOUNT_SID) !== Boolean(env.TWILIO_AUTH_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.TWILIO_ACCOUNT_SID ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'],
        message: 'TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together',
      });
    }
  });

export type Config = z.infer<typeof environmentSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      message: issue.message,
    })),
  );
}
