import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive whole number' });
        return z.NEVER;
      }
      return parsed;
    });

const url = (protocols: string[]) =>
  z
    .string()
    .optional()
    .refine(
      (value) => {
        if (value === undefined || value === '') return true;
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL (${protocols.join(' or ')})`,
    )
    .transform((value) => (value === '' ? undefined : value));

const apiKeys = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return [];
    const pairs: Array<{ tenantId: string; key: string }> = [];
    for (const entry of value.split(',')) {
      const separator = entry.indexOf(':');
      const tenantId = entry.slice(0, separator).trim();
      const key = entry.slice(separator + 1).trim();
      if (separator <= 0 || !/^[A-Za-z0-9_.-]{1,200}$/.test(tenantId) || key.length < 16) {
        // The entry itself is never echoed: it holds a key.
        ctx.addIssue({
          code: 'custom',
          message: 'must be tenantId:key pairs separated by commas, each key at least 16 characters',
        });
        return z.NEVER;
      }
      pairs.push({ tenantId, key });
    }
    return pairs;
  });

/** The environment, with the contract names of DESIGN.md and a few of our own. */
const schema = z.object({
  PORT: positiveInt(3000),
  HOST: z.string().optional().default('0.0.0.0'),
  PUBLIC_BASE_URL: url(['http:', 'https:']),
  WEBHOOKS_API_KEYS: apiKeys,
  WEBHOOKS_DATA_DIR: z.string().optional().default('./.data'),
  /** 'full' (default): fsync before every acknowledgement; 'normal': none (a power cut may lose the last writes). */
  WEBHOOKS_SQLITE_SYNCHRONOUS: z.enum(['full', 'normal']).optional().default('full'),
  /** 32 bytes (base64 or hex) for sealing secrets at rest; generated into the data dir when absent. */
  WEBHOOKS_SECRET_KEY: z.string().optional(),
  REDIS_URL: url(['redis:', 'rediss:']),
  COSMOS_ENDPOINT: url(['http:', 'https:']),
  COSMOS_KEY: z.string().optional(),
  COSMOS_DATABASE: z.string().optional().default('webhooks'),
  SERVICEBUS_CONNECTION_STRING: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  SERVICEBUS_QUEUE: z.string().optional().default('sync-tasks'),
  /** The outbox dispatcher's backoff base: the n-th retry of a task waits this * 2^(n-1) seconds (capped at an hour). */
  WEBHOOKS_DISPATCH_BACKOFF_SECONDS: positiveInt(30),
  WEBHOOKS_INLINE_SEND_TIMEOUT_MS: positiveInt(3000),
  EVENTGRID_ENDPOINT: url(['http:', 'https:']),
  EVENTGRID_KEY: z.string().optional(),
  WEBHOOK_DEBUG: bool,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  WEBHOOKS_RATE_LIMIT_PER_MINUTE: positiveInt(100),
  WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: positiveInt(1000),
  WEBHOOKS_MAX_BODY_BYTES: positiveInt(25 * 1024 * 1024),
  WEBHOOKS_ADMIN_MAX_BODY_BYTES: positiveInt(1024 * 1024),
  WEBHOOKS_ROTATION_GRACE_HOURS: positiveInt(24),
  /** Extra provider packages to load, comma-separated package names. */
  WEBHOOKS_PROVIDERS: z.string().optional().default(''),
  WEBHOOKS_JWT_ISSUER: z.string().optional(),
  WEBHOOKS_JWT_AUDIENCE: z.string().optional(),
  WEBHOOKS_JWT_JWKS_URI: url(['http:', 'https:']),
  WEBHOOKS_JWT_TENANT_CLAIM: z.string().optional().default('tid'),
  /** Express's trust proxy setting, for the client address behind a load balancer. */
  TRUST_PROXY: z.string().optional(),
});

/** Settings that only make sense together, checked on the raw environment so all problems show at once. */
function crossChecks(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (env.COSMOS_ENDPOINT && !env.COSMOS_KEY) problems.push('COSMOS_KEY is required when COSMOS_ENDPOINT is set');
  if (env.EVENTGRID_ENDPOINT && !env.EVENTGRID_KEY)
    problems.push('EVENTGRID_KEY is required when EVENTGRID_ENDPOINT is set');
  const serviceBus = env.SERVICEBUS_CONNECTION_STRING;
  if (serviceBus !== undefined && serviceBus !== '' && !/Endpoint=sb:\/\//i.test(serviceBus)) {
    problems.push('SERVICEBUS_CONNECTION_STRING must be a Service Bus connection string (Endpoint=sb://...)');
  }
  const jwt = [env.WEBHOOKS_JWT_ISSUER, env.WEBHOOKS_JWT_AUDIENCE, env.WEBHOOKS_JWT_JWKS_URI];
  if (jwt.some(Boolean) && !jwt.every(Boolean)) {
    problems.push('WEBHOOKS_JWT_ISSUER, WEBHOOKS_JWT_AUDIENCE and WEBHOOKS_JWT_JWKS_URI go together');
  }
  return problems;
}

export type Env = z.output<typeof schema>;

export interface Config {
  port: number;
  host: string;
  publicBaseUrl: string;
  apiKeys: Array<{ tenantId: string; key: string }>;
  dataDir: string;
  sqliteSynchronous: 'full' | 'normal';
  secretKey: string | undefined;
  redisUrl: string | undefined;
  cosmos: { endpoint: string; key: string; database: string } | undefined;
  serviceBus: { connectionString: string; queue: string } | undefined;
  /** Backoff base of the outbox dispatcher, in seconds. */
  dispatchBackoffSeconds: number;
  /** How long the receive path waits for the queue before answering 202 queued. */
  inlineSendTimeoutMs: number;
  eventGrid: { endpoint: string; key: string } | undefined;
  debugSignatures: boolean;
  logLevel: Env['LOG_LEVEL'];
  rateLimitPerMinute: number;
  floodLimitPerMinute: number;
  maxBodyBytes: number;
  adminMaxBodyBytes: number;
  rotationGraceMs: number;
  providerPackages: string[];
  jwt: { issuer: string; audience: string; jwksUri: string; tenantClaim: string } | undefined;
  trustProxy: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and checks the environment; one clear line per bad value, never the value itself. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = schema.safeParse(env);
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`)),
    ...crossChecks(env),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  const e = result.data;
  return {
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    apiKeys: e.WEBHOOKS_API_KEYS,
    dataDir: e.WEBHOOKS_DATA_DIR,
    sqliteSynchronous: e.WEBHOOKS_SQLITE_SYNCHRONOUS,
    secretKey: e.WEBHOOKS_SECRET_KEY,
    redisUrl: e.REDIS_URL,
    cosmos: e.COSMOS_ENDPOINT
      ? { endpoint: e.COSMOS_ENDPOINT, key: e.COSMOS_KEY ?? '', database: e.COSMOS_DATABASE }
      : undefined,
    serviceBus: e.SERVICEBUS_CONNECTION_STRING
      ? { connectionString: e.SERVICEBUS_CONNECTION_STRING, queue: e.SERVICEBUS_QUEUE }
      : undefined,
    dispatchBackoffSeconds: e.WEBHOOKS_DISPATCH_BACKOFF_SECONDS,
    inlineSendTimeoutMs: e.WEBHOOKS_INLINE_SEND_TIMEOUT_MS,
    eventGrid: e.EVENTGRID_ENDPOINT ? { endpoint: e.EVENTGRID_ENDPOINT, key: e.EVENTGRID_KEY ?? '' } : undefined,
    debugSignatures: e.WEBHOOK_DEBUG,
    logLevel: e.LOG_LEVEL,
    rateLimitPerMinute: e.WEBHOOKS_RATE_LIMIT_PER_MINUTE,
    floodLimitPerMinute: e.WEBHOOKS_FLOOD_LIMIT_PER_MINUTE,
    maxBodyBytes: e.WEBHOOKS_MAX_BODY_BYTES,
    adminMaxBodyBytes: e.WEBHOOKS_ADMIN_MAX_BODY_BYTES,
    rotationGraceMs: e.WEBHOOKS_ROTATION_GRACE_HOURS * 3600_000,
    providerPackages: e.WEBHOOKS_PROVIDERS.split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    jwt:
      e.WEBHOOKS_JWT_ISSUER && e.WEBHOOKS_JWT_AUDIENCE && e.WEBHOOKS_JWT_JWKS_URI
        ? {
            issuer: e.WEBHOOKS_JWT_ISSUER,
            audience: e.WEBHOOKS_JWT_AUDIENCE,
            jwksUri: e.WEBHOOKS_JWT_JWKS_URI,
            tenantClaim: e.WEBHOOKS_JWT_TENANT_CLAIM,
          }
        : undefined,
    trustProxy: e.TRUST_PROXY,
  };
}
