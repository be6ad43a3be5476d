import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeliveryRecord, OutboxStore, OutboxTask, WebhookRegistration } from '@webhooks/core';
import { isWebhookError, WebhookError } from '@webhooks/core';
import type { WebhookManagementService } from '@webhooks/service';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { mountAdmin } from './admin.js';
import type { Authenticator, Principal } from './auth.js';
import type { ReceiverMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { rawBody } from './raw-body.js';
import { createReceiveRoute, EVERY_ANSWER, receiveAnswer, receivePathId } from './receive.js';
import { requestLog, requestLogger } from './request-log.js';
import { statsHandler } from './stats.js';

export interface AppOptions {
  service: WebhookManagementService;
  auth: Authenticator;
  outbox: OutboxStore;
  metrics: ReceiverMetrics;
  logger: Logger;
  publicBaseUrl: string;
  maxBodyBytes: number;
  adminMaxBodyBytes: number;
  trustProxy?: string | undefined;
  /** Whether every dependency answers; /readyz reports it. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

const MAX_JSON_DEPTH = 32;

/** The receiver as a Node request listener, and the Express app behind it. */
export interface Receiver {
  app: Express;
  /** Give this to `http.createServer`: the receive route's plain form directly, the rest to `app`. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * The receiver: `POST /webhooks/<id>` goes straight to the receive route (no Express on the busy
 * path), everything else, and the receive route's other spellings (trailing slash, other case),
 * to the Express app, which has the same route.
 */
export function createReceiver(options: AppOptions): Receiver {
  const receive = createReceiveRoute(options);
  const app = createApp(options, receive);
  return {
    app,
    listener: (req, res) => {
      const registrationId = receivePathId(req);
      if (registrationId === null) app(req, res);
      else receive(req, res, registrationId);
    },
  };
}

/**
 * The receiver and admin API. Thin on purpose: each route reads its input, calls the service and
 * shapes the answer; every decision about webhooks is the service's.
 */
export function createApp(options: AppOptions, receive = createReceiveRoute(options)): Express {
  const { service, auth, metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (options.trustProxy !== undefined) app.set('trust proxy', parseTrustProxy(options.trustProxy));

  // The receive route first, on its own: it logs and answers without Express's middleware (see
  // receive.ts). No other POST matches /webhooks/<one segment>, so its place changes no answer.
  app.post('/webhooks/:registrationId', (req, res) => receive(req, res, param(req, 'registrationId')));

  app.use(requestLogger(logger));
  app.use((_req, res, next) => {
    for (const [name, value] of EVERY_ANSWER) res.setHeader(name, value);
    next();
  });

  const adminBody = rawBody(options.adminMaxBodyBytes);

  const requireTenant: RequestHandler = async (req, res, next) => {
    let principal: Principal | null;
    try {
      principal = await auth.authenticate(req.headers.authorization);
    } catch (error) {
      // The key store is down: a retryable 503, not a 500 and not a 401 that would look like a bad key.
      requestLog(res, logger).error({ err: error }, 'authentication unavailable');
      res
        .status(503)
        .json({ error: 'Temporarily unable to check credentials; retry later', code: 'store_unavailable' });
      return;
    }
    if (!principal) {
      res.setHeader('www-authenticate', 'Bearer');
      res.status(401).json({ error: 'A valid bearer token is required', code: 'unauthorized' });
      return;
    }
    res.locals.principal = principal;
    next();
  };
  const tenant = (res: Response): string => (res.locals.principal as Principal).tenantId;

  // -------------------------------------------------------------- operations (no auth)

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const readiness = await options.readiness();
    res
      .status(readiness.ready ? 200 : 503)
      .json({ status: readiness.ready ? 'ready' : 'not_ready', checks: readiness.checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(options.publicBaseUrl));
  });

  // ------------------------------------------------- fixed /webhooks paths before /:registrationId

  app.get('/webhooks/health', async (_req, res) => {
    res.json(await service.healthCheck());
  });

  app.get('/webhooks/unhealthy', requireTenant, async (_req, res) => {
    res.json(await service.getUnhealthyWebhooks(tenant(res)));
  });

  app.get('/webhooks', requireTenant, async (req, res) => {
    const integrationId = queryString(req, 'integrationId');
    const connectionId = queryString(req, 'connectionId');
    const registrations = await service.listRegistrations(tenant(res), integrationId, connectionId);
    res.json({ webhooks: registrations.map(registrationView), total: registrations.length });
  });

  // ---------------------------------------------------------------- admin routes

  app.post('/integrations/:integrationId/webhooks', requireTenant, adminBody, async (req, res) => {
    const input = jsonBody(req);
    const { registration, setup } = await service.registerWebhook(
      tenant(res),
      param(req, 'integrationId'),
      input.connectionId as string,
      input.events as string[],
      {
        ...(input.metadata !== undefined ? { metadata: objectField(input, 'metadata') } : {}),
        ...(input.retryPolicy !== undefined ? { retryPolicy: objectField(input, 'retryPolicy') as never } : {}),
        ...(input.webhookSecret !== undefined ? { webhookSecret: input.webhookSecret as string } : {}),
        ...(input.providerOptions !== undefined
          ? { providerOptions: objectField(input, 'providerOptions') as never }
          : {}),
      },
    );
    res.status(201).json({
      registrationId: registration.id,
      webhookUrl: registration.webhookUrl,
      webhookSecret: registration.webhookSecret,
      status: registration.status,
      createdAt: registration.createdAt.toISOString(),
      ...(setup ? { setup: setup.instructions } : {}),
    });
  });

  app.get('/webhooks/:registrationId', requireTenant, async (req, res) => {
    const registration = await service.getWebhookRegistration(param(req, 'registrationId'), tenant(res));
    if (!registration) throw new WebhookError('not_found', 'Webhook registration not found');
    const view: Record<string, unknown> = registrationView(registration);
    const token = await service.getPendingVerificationToken(registration.id, tenant(res));
    // Notion's setup needs its captured token pasted back; it is shown only until the setup completes.
    if (token !== null) view.pendingVerificationToken = token;
    res.json(view);
  });

  app.delete('/webhooks/:registrationId', requireTenant, async (req, res) => {
    await service.unregisterWebhook(param(req, 'registrationId'), tenant(res));
    res.status(204).end();
  });

  app.get('/webhooks/:registrationId/health', requireTenant, async (req, res) => {
    res.json(await service.checkWebhookHealth(param(req, 'registrationId'), tenant(res)));
  });

  app.post('/webhooks/:registrationId/rotate-secret', requireTenant, adminBody, async (req, res) => {
    const input = jsonBody(req);
    if (input.webhookSecret !== undefined && typeof input.webhookSecret !== 'string') {
      throw new WebhookError('invalid_request', 'webhookSecret must be a string');
    }
    const result = await service.rotateWebhookSecret(param(req, 'registrationId'), tenant(res), {
      ...(typeof input.webhookSecret === 'string' ? { webhookSecret: input.webhookSecret } : {}),
    });
    res.json({
      webhookSecret: result.webhookSecret,
      previousSecretExpiresAt: result.previousSecretExpiresAt.toISOString(),
      ...(result.providerUpdated !== undefined ? { providerUpdated: result.providerUpdated } : {}),
    });
  });

  app.get('/webhooks/:registrationId/deliveries', requireTenant, async (req, res) => {
    const limit = queryInt(req, 'limit', 50, 1, 500);
    const deliveries = await service.listDeliveries(param(req, 'registrationId'), tenant(res), limit);
    res.json({ deliveries: deliveries.map(deliveryView), total: deliveries.length });
  });

  app.post('/webhooks/:registrationId/deliveries/:deliveryId/replay', requireTenant, async (req, res) => {
    const result = await service.replayDelivery(param(req, 'deliveryId'), tenant(res), {
      registrationId: param(req, 'registrationId'),
    });
    res.status(result.success ? 200 : result.status).json(receiveAnswer(result));
  });

  app.get('/sync-tasks', requireTenant, async (req, res) => {
    const integrationId = queryString(req, 'integrationId');
    const status = queryString(req, 'status');
    if (status !== undefined && !['pending', 'leased', 'done', 'dead'].includes(status)) {
      throw new WebhookError('invalid_request', 'status is one of pending, leased, done, dead');
    }
    const tasks = await options.outbox.listOutbox({
      tenantId: tenant(res),
      ...(integrationId !== undefined ? { integrationId } : {}),
      ...(status !== undefined ? { status: status as OutboxTask['status'] } : {}),
      limit: queryInt(req, 'limit', 100, 1, 1000),
    });
    res.json({ tasks: tasks.map(taskView), total: tasks.length });
  });

  app.post('/api-keys', requireTenant, adminBody, async (req, res) => {
    const input = jsonBody(req);
    const created = await auth.createKey(tenant(res), typeof input.name === 'string' ? input.name : undefined);
    res.status(201).json({
      id: created.id,
      key: created.key,
      tenantId: created.record.tenantId,
      createdAt: created.record.createdAt.toISOString(),
    });
  });

  app.get('/api-keys', requireTenant, async (_req, res) => {
    const keys = await auth.listKeys(tenant(res));
    res.json({
      keys: keys.map((k) => ({
        id: k.id,
        name: k.name ?? null,
        createdAt: k.createdAt.toISOString(),
        revokedAt: k.revokedAt?.toISOString() ?? null,
      })),
    });
  });

  app.delete('/api-keys/:keyId', requireTenant, async (req, res) => {
    if (!(await auth.revokeKey(param(req, 'keyId'), tenant(res))))
      throw new WebhookError('not_found', 'API key not found');
    res.status(204).end();
  });

  app.get('/stats', requireTenant, statsHandler(options));
  mountAdmin(app);

  // ---------------------------------------------------------------- fallbacks

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not found', code: 'not_found' });
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = errorAnswer(error);
    if (status >= 500) requestLog(res, logger).error({ err: error }, 'request failed');
    if (res.headersSent) return;
    res.status(status).json(body);
  });

  return app;
}

// ------------------------------------------------------------------ helpers

function errorAnswer(error: unknown): { status: number; body: { error: string; code: string } } {
  if (isWebhookError(error)) {
    return { status: error.status, body: { error: error.message, code: error.code } };
  }
  // The router's own refusals (a path that is not valid percent-encoding: 400). Bodies are read by
  // raw-body.ts, which answers its own 413/415/400.
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: 'The request could not be read', code: 'invalid_request' } };
  }
  return { status: 500, body: { error: 'Internal error', code: 'internal' } };
}

export function registrationView(registration: WebhookRegistration): Record<string, unknown> {
  const { webhookSecret: _secret, previousSecrets, etag: _etag, ...rest } = registration;
  return {
    ...rest,
    createdAt: registration.createdAt.toISOString(),
    updatedAt: registration.updatedAt.toISOString(),
    previousSecretsExpireAt: (previousSecrets ?? []).map((p) => p.expiresAt.toISOString()),
  };
}

function deliveryView(delivery: DeliveryRecord): Record<string, unknown> {
  const text = Buffer.from(delivery.body.buffer, delivery.body.byteOffset, delivery.body.byteLength);
  const utf8 = text.toString('utf8');
  const isText = Buffer.from(utf8, 'utf8').equals(text);
  return {
    ...delivery,
    receivedAt: delivery.receivedAt.toISOString(),
    body: isText ? utf8 : text.toString('base64'),
    bodyEncoding: isText ? 'utf8' : 'base64',
  };
}

function taskView(task: OutboxTask): Record<string, unknown> {
  return {
    ...task,
    availableAt: task.availableAt.toISOString(),
    createdAt: task.createdAt.toISOString(),
    leasedUntil: task.leasedUntil?.toISOString() ?? null,
  };
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 200) {
    throw new WebhookError('invalid_request', `${name} must be a single value of at most 200 characters`);
  }
  return value;
}

function queryInt(req: Request, name: string, fallback: number, min: number, max: number): number {
  const value = queryString(req, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new WebhookError('invalid_request', `${name} must be a whole number from ${min} to ${max}`);
  }
  return parsed;
}

/** The admin body as a JSON object, with a depth limit so nesting cannot exhaust the stack. */
function jsonBody(req: Request): Record<string, unknown> {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebhookError('invalid_request', 'The body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookError('invalid_request', 'The body must be a JSON object');
  }
  if (depth(value) > MAX_JSON_DEPTH)
    throw new WebhookError('invalid_request', `The body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value as Record<string, unknown>;
}

function objectField(input: Record<string, unknown>, name: string): Record<string, unknown> {
  const value = input[name];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookError('invalid_request', `${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function depth(root: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, level] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, level);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(value)) stack.push([child, level + 1]);
  }
  return deepest;
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}
