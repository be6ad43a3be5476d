/** OpenAPI 3.1 description of every route; a test holds it and the router to each other. */

const error = { $ref: '#/components/schemas/Error' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [String(status), { description: ERROR_TEXT[status] ?? 'Error', ...json(error) }]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid bearer token, or an invalid webhook signature',
  404: "Not found (including another tenant's resources)",
  413: 'Body larger than the route accepts',
  429: 'Rate limited; see Retry-After',
  503: 'Temporarily unavailable; retry',
};

const registrationId = {
  name: 'registrationId',
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 100 },
};
const bearer = [{ bearer: [] }];

export function openApiDocument(publicBaseUrl: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Webhook receiver and admin API',
      version: '0.1.0',
      description:
        "Receives provider webhooks at POST /webhooks/{registrationId}, verifies them from the raw bytes, and triggers sync tasks. Admin routes take a bearer API key (or JWT) that maps to a tenant; another tenant's resources answer 404.",
    },
    servers: [{ url: publicBaseUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'code'],
          properties: { error: { type: 'string' }, code: { type: 'string' }, reason: { type: 'string' } },
        },
        ProcessResult: {
          type: 'object',
          required: ['success', 'processingTimeMs'],
          properties: {
            success: { type: 'boolean' },
            eventType: { type: 'string' },
            entityId: { type: 'string' },
            syncTriggered: { type: 'boolean' },
            duplicate: { type: 'boolean' },
            queued: { type: 'boolean' },
            deliveryId: { type: 'string' },
            error: { type: 'string' },
            code: { type: 'string' },
            reason: { type: 'string' },
            processingTimeMs: { type: 'number' },
          },
        },
        Registration: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            tenantId: { type: 'string' },
            integrationId: { type: 'string' },
            connectionId: { type: 'string' },
            webhookUrl: { type: 'string' },
            events: { type: 'array', items: { type: 'string' } },
            status: { enum: ['active', 'inactive', 'failed', 'pending_verification'] },
            isVerified: { type: 'boolean' },
            failureCount: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            pendingVerificationToken: {
              type: 'string',
              description: "Notion's captured token, shown until setup completes",
            },
          },
        },
        Health: {
          type: 'object',
          properties: {
            registrationId: { type: 'string' },
            status: { enum: ['healthy', 'degraded', 'failed'] },
            failureCount: { type: 'integer' },
            lastEventAt: { type: 'string', format: 'date-time' },
            lastFailureAt: { type: 'string', format: 'date-time' },
            failureRate: { type: 'number' },
            recommendations: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: the store, queue and cache answer',
          responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format' } } },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
      '/webhooks/health': {
        get: {
          summary: 'Service-level health',
          responses: {
            200: json({
              type: 'object',
              properties: {
                status: { enum: ['healthy', 'degraded', 'unhealthy'] },
                registrationsCount: { type: 'integer' },
                failedRegistrationsCount: { type: 'integer' },
                cacheHitRate: { type: 'number' },
              },
            }),
          },
        },
      },
      '/webhooks/unhealthy': {
        get: {
          summary: 'Degraded or failed registrations of the tenant',
          security: bearer,
          responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Health' } }), ...errors(401) },
        },
      },
      '/webhooks': {
        get: {
          summary: "List the tenant's registrations",
          security: bearer,
          parameters: [
            { name: 'integrationId', in: 'query', schema: { type: 'string' } },
            { name: 'connectionId', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            200: json({
              type: 'object',
              properties: {
                webhooks: { type: 'array', items: { $ref: '#/components/schemas/Registration' } },
                total: { type: 'integer' },
              },
            }),
            ...errors(400, 401),
          },
        },
      },
      '/integrations/{integrationId}/webhooks': {
        post: {
          summary: 'Register a webhook',
          security: bearer,
          parameters: [
            {
              name: 'integrationId',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              description: 'The provider id',
            },
          ],
          requestBody: json({
            type: 'object',
            required: ['connectionId', 'events'],
            properties: {
              connectionId: { type: 'string' },
              events: { type: 'array', items: { type: 'string' }, examples: [['contact.created', 'contact.*']] },
              webhookSecret: { type: 'string', description: 'A provider-issued secret; generated when absent' },
              metadata: { type: 'object' },
              retryPolicy: {
                type: 'object',
                properties: { maxRetries: { type: 'integer' }, backoffSeconds: { type: 'number' } },
              },
              providerOptions: { type: 'object' },
            },
          }),
          responses: {
            201: json({
              type: 'object',
              properties: {
                registrationId: { type: 'string' },
                webhookUrl: { type: 'string' },
                webhookSecret: { type: 'string', description: 'Shown once' },
                status: { type: 'string' },
                createdAt: { type: 'string', format: 'date-time' },
                setup: { type: 'array', items: { type: 'string' } },
              },
            }),
            ...errors(400, 401, 413),
          },
        },
      },
      '/webhooks/{registrationId}': {
        post: {
          summary: 'Receive a webhook from the provider',
          description:
            "Authenticated by the provider signature over the raw body. Handshakes are answered in the provider's format.",
          parameters: [registrationId],
          requestBody: { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
          responses: {
            200: { description: 'Stored (or a duplicate)', ...json({ $ref: '#/components/schemas/ProcessResult' }) },
            202: {
              description: 'Stored; sync tasks wait in the outbox',
              ...json({ $ref: '#/components/schemas/ProcessResult' }),
            },
            ...errors(400, 401, 404, 413, 429, 503),
          },
        },
        get: {
          summary: 'A registration, never its secret',
          security: bearer,
          parameters: [registrationId],
          responses: { 200: json({ $ref: '#/components/schemas/Registration' }), ...errors(401, 404) },
        },
        delete: {
          summary: 'Unregister (also at the provider where it has an API)',
          security: bearer,
          parameters: [registrationId],
          responses: { 204: { description: 'Gone' }, ...errors(401, 404) },
        },
      },
      '/webhooks/{registrationId}/health': {
        get: {
          summary: 'Health of a registration',
          security: bearer,
          parameters: [registrationId],
          responses: { 200: json({ $ref: '#/components/schemas/Health' }), ...errors(401, 404) },
        },
      },
      '/webhooks/{registrationId}/rotate-secret': {
        post: {
          summary: 'Rotate the secret; the previous one keeps verifying for a grace period',
          security: bearer,
          parameters: [registrationId],
          requestBody: json({ type: 'object', properties: { webhookSecret: { type: 'string' } } }),
          responses: {
            200: json({
              type: 'object',
              properties: {
                webhookSecret: { type: 'string' },
                previousSecretExpiresAt: { type: 'string', format: 'date-time' },
                providerUpdated: {
                  type: 'boolean',
                  description:
                    'For a hook the receiver created at the provider (GitHub): whether the new secret was installed there too; false: install it by hand before previousSecretExpiresAt',
                },
              },
            }),
            ...errors(400, 401, 404),
          },
        },
      },
      '/webhooks/{registrationId}/deliveries': {
        get: {
          summary: 'Recent deliveries with their outcome (rejections carry signature diagnostics)',
          security: bearer,
          parameters: [
            registrationId,
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          ],
          responses: { 200: { description: 'Newest first' }, ...errors(400, 401, 404) },
        },
      },
      '/webhooks/{registrationId}/deliveries/{deliveryId}/replay': {
        post: {
          summary: 'Verify and run a stored delivery again',
          security: bearer,
          parameters: [registrationId, { name: 'deliveryId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: json({ $ref: '#/components/schemas/ProcessResult' }), ...errors(400, 401, 404) },
        },
      },
      '/sync-tasks': {
        get: {
          summary: "The tenant's sync tasks in the embedded queue / outbox",
          security: bearer,
          parameters: [
            { name: 'integrationId', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { enum: ['pending', 'leased', 'done', 'dead'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { 200: { description: 'Tasks' }, ...errors(400, 401) },
        },
      },
      '/api-keys': {
        post: {
          summary: 'Create an API key for the tenant (shown once)',
          security: bearer,
          requestBody: json({ type: 'object', properties: { name: { type: 'string' } } }),
          responses: { 201: { description: 'The key' }, ...errors(400, 401) },
        },
        get: {
          summary: "The tenant's API keys (never the keys themselves)",
          security: bearer,
          responses: { 200: { description: 'Keys' }, ...errors(401) },
        },
      },
      '/stats': {
        get: {
          summary:
            "The tenant's traffic per minute (received, accepted, rejected by reason, duplicates, syncs) and outbox lag",
          description:
            "Counted from the tenant's registrations' recent deliveries (the newest 500 of each) and the tenant's own outbox tasks; never another tenant's. Only minutes with activity are listed.",
          security: bearer,
          parameters: [
            { name: 'hours', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 168, default: 24 } },
          ],
          responses: {
            200: json({
              type: 'object',
              properties: {
                from: { type: 'string', format: 'date-time' },
                to: { type: 'string', format: 'date-time' },
                hours: { type: 'integer' },
                registrations: { type: 'integer' },
                truncated: { type: 'boolean', description: 'A registration had more deliveries than were counted' },
                totals: {
                  type: 'object',
                  properties: {
                    received: { type: 'integer' },
                    accepted: { type: 'integer' },
                    rejected: { type: 'integer' },
                    duplicates: { type: 'integer' },
                    syncsTriggered: { type: 'integer' },
                  },
                },
                rejectionsByReason: { type: 'object', additionalProperties: { type: 'integer' } },
                minutes: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      minute: { type: 'string', format: 'date-time' },
                      received: { type: 'integer' },
                      accepted: { type: 'integer' },
                      rejected: { type: 'integer' },
                      duplicates: { type: 'integer' },
                      syncsTriggered: { type: 'integer' },
                      rejectedByReason: { type: 'object', additionalProperties: { type: 'integer' } },
                      outboxWaiting: { type: 'integer' },
                    },
                  },
                },
                outbox: {
                  type: 'object',
                  properties: {
                    pending: { type: 'integer' },
                    dead: { type: 'integer' },
                    oldestPendingAgeMs: { type: 'number' },
                  },
                },
              },
            }),
            ...errors(400, 401),
          },
        },
      },
      '/admin': {
        get: {
          summary: 'The admin panel (a web page; sign in with an API key)',
          description:
            'Served with a strict Content-Security-Policy. Answers 503 when the panel is not built (run `pnpm build`).',
          responses: {
            200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } },
            301: { description: 'Redirect to /admin/' },
            503: {
              description: 'The admin panel is not built',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/admin/assets/{file}': {
        get: {
          summary: "The admin panel's scripts and stylesheets",
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The file' }, 404: { description: 'No such file' } },
        },
      },
      '/api-keys/{keyId}': {
        delete: {
          summary: 'Revoke an API key',
          security: bearer,
          parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 204: { description: 'Revoked' }, ...errors(401, 404) },
        },
      },
    },
  };
}
