import { connect } from 'node:net';
import { salesforceOutboundMessage, signGitHub, signSlack } from '@webhooks/verifiers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';
import { startTestServer, type TestServer } from './test-support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function call(path: string, init: RequestInit & { key?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const response = await fetch(`${server.url}${path}`, { ...init, headers, body });
  const text = await response.text();
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, text, data: data as Record<string, unknown> };
}

async function register(key: string, provider = 'github', body: Record<string, unknown> = {}) {
  const created = await call(`/integrations/${provider}/webhooks`, {
    method: 'POST',
    key,
    json: { connectionId: 'conn-456', events: ['issue.*', 'Contact.created'], ...body },
  });
  expect(created.status).toBe(201);
  return created.data as {
    registrationId: string;
    webhookUrl: string;
    webhookSecret: string;
    status: string;
    createdAt: string;
  };
}

function sendGitHub(registrationId: string, secret: string, id = 1234567, deliveryId: string = crypto.randomUUID()) {
  const body = JSON.stringify({ action: 'opened', issue: { number: 123, id, title: 'Bug' } });
  return call(`/webhooks/${registrationId}`, {
    method: 'POST',
    headers: { ...signGitHub({ body, secret, deliveryId, event: 'issues' }), 'content-type': 'application/json' },
    body,
  });
}

describe('POST /integrations/:integrationId/webhooks', () => {
  it('answers 201 with the contract fields and the secret, once', async () => {
    const created = await register(server.keys.a);
    expect(Object.keys(created).sort()).toEqual([
      'createdAt',
      'registrationId',
      'setup',
      'status',
      'webhookSecret',
      'webhookUrl',
    ]);
    expect(created.webhookSecret).toMatch(/^whsec_/);
    expect(created.status).toBe('pending_verification');
    expect(created.webhookUrl).toBe(`http://placeholder/webhooks/${created.registrationId}`);
    expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
  });

  it.each([
    ['no bearer token', {}, 401, 'unauthorized'],
    ['a wrong token', auth('not-a-real-key-0123456789'), 401, 'unauthorized'],
  ])('answers %s with %i', async (_, headers, status, code) => {
    const result = await call('/integrations/github/webhooks', {
      method: 'POST',
      headers,
      json: { connectionId: 'c', events: ['*'] },
    });
    expect(result.status).toBe(status);
    expect(result.data).toEqual({ error: expect.any(String), code });
  });

  it('answers 400 for malformed JSON, nested JSON, an unknown provider and bad events', async () => {
    const malformed = await call('/integrations/github/webhooks', {
      method: 'POST',
      key: server.keys.a,
      headers: { 'content-type': 'application/json' },
      body: '{"connectionId":',
    });
    expect(malformed).toMatchObject({ status: 400, data: { code: 'invalid_request' } });
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { deep };
    const nested = await call('/integrations/github/webhooks', {
      method: 'POST',
      key: server.keys.a,
      json: { connectionId: 'c', events: ['*'], metadata: deep },
    });
    expect(nested).toMatchObject({ status: 400, data: { code: 'invalid_request' } });
    const unknown = await call('/integrations/gitlab/webhooks', {
      method: 'POST',
      key: server.keys.a,
      json: { connectionId: 'c', events: ['*'] },
    });
    expect(unknown).toMatchObject({ status: 400, data: { code: 'unsupported_provider' } });
    const events = await call('/integrations/github/webhooks', {
      method: 'POST',
      key: server.keys.a,
      json: { connectionId: 'c', events: 'all' },
    });
    expect(events).toMatchObject({ status: 400, data: { code: 'invalid_request' } });
  });

  it('accepts a provider-issued secret', async () => {
    const created = await register(server.keys.a, 'slack', { webhookSecret: 'slack-signing-secret-1', events: ['*'] });
    expect(created.webhookSecret).toBe('slack-signing-secret-1');
  });
});

describe('POST /webhooks/:registrationId', () => {
  it('verifies, stores and triggers: 200 with the spec result', async () => {
    const created = await register(server.keys.a);
    const result = await sendGitHub(created.registrationId, created.webhookSecret);
    expect(result.status).toBe(200);
    expect(result.data).toMatchObject({
      success: true,
      eventType: 'opened',
      entityId: '1234567',
      syncTriggered: true,
      duplicate: false,
    });
    expect(typeof result.data.processingTimeMs).toBe('number');
    expect(result.headers.get('ratelimit-limit')).toBe('100');
  });

  it('answers 401 with the reason for a bad signature and 404 for an unknown id', async () => {
    const created = await register(server.keys.a);
    const bad = await sendGitHub(created.registrationId, 'wrong-secret');
    expect(bad).toMatchObject({
      status: 401,
      data: { success: false, error: 'Invalid webhook signature', reason: 'signature_mismatch' },
    });
    const unknown = await call('/webhooks/wh_nope', { method: 'POST', body: '{}' });
    expect(unknown).toMatchObject({ status: 404, data: { success: false, code: 'not_found' } });
    const traversal = await call('/webhooks/..%2F..%2Fetc%2Fpasswd', { method: 'POST', body: '{}' });
    expect(traversal.status).toBe(404);
  });

  it('accepts every content type providers send, and an empty body reaches verification', async () => {
    const created = await register(server.keys.a);
    for (const type of [
      'application/json',
      'application/x-www-form-urlencoded',
      'text/xml',
      'application/octet-stream',
    ]) {
      const result = await call(`/webhooks/${created.registrationId}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: 'a=b',
      });
      expect(result.status).toBe(401);
    }
    const empty = await call(`/webhooks/${created.registrationId}`, { method: 'POST' });
    expect(empty).toMatchObject({ status: 401, data: { reason: 'missing_header' } });
  });

  it('answers a form-encoded GitHub delivery signed over the raw form bytes', async () => {
    const created = await register(server.keys.a);
    const body = `payload=${encodeURIComponent(JSON.stringify({ action: 'opened', issue: { id: 42, number: 1 } }))}`;
    const result = await call(`/webhooks/${created.registrationId}`, {
      method: 'POST',
      headers: {
        ...signGitHub({ body, secret: created.webhookSecret, deliveryId: 'form-1', event: 'issues' }),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    });
    expect(result).toMatchObject({ status: 200, data: { entityId: '42' } });
  });

  it("answers Slack's url_verification with the challenge as text", async () => {
    const created = await register(server.keys.a, 'slack', { webhookSecret: 'slack-signing-secret-2', events: ['*'] });
    const body = JSON.stringify({ token: 't', challenge: 'challenge-123', type: 'url_verification' });
    const result = await call(`/webhooks/${created.registrationId}`, {
      method: 'POST',
      headers: { ...signSlack({ body, secret: 'slack-signing-secret-2' }), 'content-type': 'application/json' },
      body,
    });
    expect(result.status).toBe(200);
    expect(result.text).toBe('challenge-123');
    expect(result.headers.get('content-type')).toContain('text/plain');
  });

  it('answers Salesforce outbound messages with the SOAP Ack', async () => {
    const created = await register(server.keys.a, 'salesforce-outbound', {
      events: ['*'],
      providerOptions: { salesforceOrganizationId: '00D5g000004ABCDEAA' },
    });
    const body = salesforceOutboundMessage({
      organizationId: '00D5g000004ABCDEAA',
      notifications: [{ id: '04l5g000000ABCDAA4', sObjectType: 'Contact', fields: { Id: '0035g000004XYZAAA2' } }],
    });
    const result = await call(`/webhooks/${created.registrationId}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body,
    });
    expect(result.status).toBe(200);
    expect(result.text).toContain('<Ack>true</Ack>');
    expect(result.headers.get('content-type')).toContain('text/xml');
  });

  it('answers 429 with Retry-After over the limit for a provider that retries', async () => {
    const limited = await startTestServer({ rateLimit: { perMinute: 2 } });
    try {
      const created = (await (
        await fetch(`${limited.url}/integrations/slack/webhooks`, {
          method: 'POST',
          headers: { ...auth(limited.keys.a), 'content-type': 'application/json' },
          body: JSON.stringify({ connectionId: 'c', events: ['*'], webhookSecret: 'slack-signing-secret-3' }),
        })
      ).json()) as { registrationId: string };
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 3; i++) {
        const body = JSON.stringify({
          type: 'event_callback',
          event_id: `Ev${i}`,
          event: { type: 'message', ts: `1.${i}` },
        });
        const response = await fetch(`${limited.url}/webhooks/${created.registrationId}`, {
          method: 'POST',
          headers: signSlack({ body, secret: 'slack-signing-secret-3' }),
          body,
        });
        statuses.push(response.status);
        retryAfter = response.headers.get('retry-after');
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('answers 413 over the receive limit and over the admin limit', async () => {
    const small = await startTestServer({ maxBodyBytes: 1024, adminMaxBodyBytes: 512 });
    try {
      const big = await fetch(`${small.url}/webhooks/wh_anything`, { method: 'POST', body: 'x'.repeat(2048) });
      expect(big.status).toBe(413);
      expect(await big.json()).toEqual({ error: expect.any(String), code: 'payload_too_large' });
      const admin = await fetch(`${small.url}/integrations/github/webhooks`, {
        method: 'POST',
        headers: { ...auth(small.keys.a), 'content-type': 'application/json' },
        body: JSON.stringify({ connectionId: 'c', events: ['*'], metadata: { pad: 'x'.repeat(1024) } }),
      });
      expect(admin.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('answers 413 at once to a declared Content-Length over the limit, without waiting for the body', async () => {
    const small = await startTestServer({ maxBodyBytes: 1024 });
    try {
      const { port } = new URL(small.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let received = '';
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer within 3 s: ${received}`));
        }, 3000);
        socket.on('data', (chunk) => {
          received += chunk.toString('latin1');
        });
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(received);
        });
        socket.on('error', reject);
        // 100 MB announced, none of it sent.
        socket.write(
          'POST /webhooks/wh_anything HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n',
        );
      });
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(answer).toContain('payload_too_large');
    } finally {
      await small.close();
    }
  });
});

describe('admin routes', () => {
  it('serve a registration without its secret, list, health, rotate, deliveries, replay and delete', async () => {
    const created = await register(server.keys.a);
    await sendGitHub(created.registrationId, created.webhookSecret, 1, 'delivery-1');

    const got = await call(`/webhooks/${created.registrationId}`, { key: server.keys.a });
    expect(got).toMatchObject({
      status: 200,
      data: {
        id: created.registrationId,
        tenantId: 'tenant-a',
        integrationId: 'github',
        status: 'active',
        isVerified: true,
      },
    });
    expect(got.text).not.toContain(created.webhookSecret);
    expect(got.data).not.toHaveProperty('webhookSecret');

    const list = await call('/webhooks?integrationId=github&connectionId=conn-456', { key: server.keys.a });
    expect(list.status).toBe(200);
    expect((list.data.webhooks as unknown[]).length).toBe(list.data.total);
    expect(list.text).not.toContain(created.webhookSecret);

    const health = await call(`/webhooks/${created.registrationId}/health`, { key: server.keys.a });
    expect(health).toMatchObject({
      status: 200,
      data: {
        registrationId: created.registrationId,
        status: 'healthy',
        failureCount: 0,
        failureRate: 0,
        recommendations: [],
      },
    });

    const rotated = await call(`/webhooks/${created.registrationId}/rotate-secret`, {
      method: 'POST',
      key: server.keys.a,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.data.webhookSecret).toMatch(/^whsec_/);
    expect(rotated.data.webhookSecret).not.toBe(created.webhookSecret);
    expect(new Date(rotated.data.previousSecretExpiresAt as string).getTime()).toBeGreaterThan(Date.now());

    const deliveries = await call(`/webhooks/${created.registrationId}/deliveries?limit=10`, { key: server.keys.a });
    expect(deliveries.status).toBe(200);
    const [delivery] = deliveries.data.deliveries as Array<{
      id: string;
      outcome: string;
      body: string;
      headers: Record<string, string>;
    }>;
    expect(delivery).toMatchObject({ outcome: 'accepted' });
    expect(JSON.parse(delivery!.body)).toMatchObject({ action: 'opened' });

    const replay = await call(`/webhooks/${created.registrationId}/deliveries/${delivery!.id}/replay`, {
      method: 'POST',
      key: server.keys.a,
    });
    expect(replay).toMatchObject({ status: 200, data: { success: true, syncTriggered: true } });

    expect((await call(`/webhooks/${created.registrationId}`, { method: 'DELETE', key: server.keys.a })).status).toBe(
      204,
    );
    expect((await call(`/webhooks/${created.registrationId}`, { key: server.keys.a })).status).toBe(404);
    expect((await sendGitHub(created.registrationId, rotated.data.webhookSecret as string)).status).toBe(404);
  });

  it('answers 400 for a bad limit', async () => {
    const created = await register(server.keys.a);
    expect((await call(`/webhooks/${created.registrationId}/deliveries?limit=0`, { key: server.keys.a })).status).toBe(
      400,
    );
    expect(
      (await call(`/webhooks/${created.registrationId}/deliveries?limit=abc`, { key: server.keys.a })).status,
    ).toBe(400);
  });

  it('creates, lists and revokes API keys, and a revoked key stops working', async () => {
    const created = await call('/api-keys', { method: 'POST', key: server.keys.a, json: { name: 'ci' } });
    expect(created.status).toBe(201);
    const key = created.data.key as string;
    expect((await call('/webhooks', { key })).status).toBe(200);
    const listed = await call('/api-keys', { key: server.keys.a });
    expect(listed.text).not.toContain(key);
    expect((await call(`/api-keys/${created.data.id}`, { method: 'DELETE', key: server.keys.b })).status).toBe(404);
    expect((await call(`/api-keys/${created.data.id}`, { method: 'DELETE', key: server.keys.a })).status).toBe(204);
    expect((await call('/webhooks', { key })).status).toBe(401);
  });
});

describe('route order and operations', () => {
  it('serves /webhooks/health and /webhooks/unhealthy, not /webhooks/:registrationId', async () => {
    const health = await call('/webhooks/health');
    expect(health).toMatchObject({
      status: 200,
      data: { status: expect.any(String), registrationsCount: expect.any(Number) },
    });
    expect(Object.keys(health.data).sort()).toEqual([
      'cacheHitRate',
      'failedRegistrationsCount',
      'registrationsCount',
      'status',
    ]);
    expect((await call('/webhooks/unhealthy')).status).toBe(401);
    const unhealthy = await call('/webhooks/unhealthy', { key: server.keys.a });
    expect(unhealthy.status).toBe(200);
    expect(Array.isArray(unhealthy.data)).toBe(true);
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await call('/healthz')).status).toBe(200);
    expect(await call('/readyz')).toMatchObject({ status: 200, data: { status: 'ready' } });
    const metrics = await call('/metrics');
    expect(metrics.text).toContain('webhooks_received_total');
    expect(metrics.text).toContain('webhooks_outbox_lag_seconds');
  });

  it('answers unknown routes with JSON 404 and never a stack trace', async () => {
    const result = await call('/nope');
    expect(result).toMatchObject({ status: 404, data: { code: 'not_found' } });
    expect(result.text).not.toMatch(/at .*\.js:\d+/);
  });
});

describe('tenant isolation', () => {
  it("answers 404 on every admin route for tenant B on tenant A's registration", async () => {
    const created = await register(server.keys.a);
    const sent = await sendGitHub(created.registrationId, created.webhookSecret);
    const deliveryId = sent.data.deliveryId as string;
    const id = created.registrationId;
    const routes: Array<[string, string]> = [
      ['GET', `/webhooks/${id}`],
      ['DELETE', `/webhooks/${id}`],
      ['GET', `/webhooks/${id}/health`],
      ['POST', `/webhooks/${id}/rotate-secret`],
      ['GET', `/webhooks/${id}/deliveries`],
      ['POST', `/webhooks/${id}/deliveries/${deliveryId}/replay`],
    ];
    for (const [method, path] of routes) {
      const result = await call(path, { method, key: server.keys.b });
      expect([method, path, result.status]).toEqual([method, path, 404]);
      expect(result.text).not.toContain(created.webhookSecret);
    }
    const list = await call('/webhooks', { key: server.keys.b });
    expect(list.text).not.toContain(id);
    const tasks = await call('/sync-tasks', { key: server.keys.b });
    expect(tasks.text).not.toContain(id);
    expect((await call(`/webhooks/${id}`, { key: server.keys.a })).status).toBe(200);
  });
});

describe('secrets', () => {
  it('never appear in answers other than creation and rotation, nor in the logs', async () => {
    const created = await register(server.keys.a);
    await sendGitHub(created.registrationId, created.webhookSecret);
    await sendGitHub(created.registrationId, 'wrong');
    await call(`/webhooks/${created.registrationId}/deliveries`, { key: server.keys.a });
    const logs = server.logs.join('\n');
    expect(logs).not.toContain(created.webhookSecret);
    expect(logs).not.toContain(server.keys.a);
    expect(logs).not.toContain(server.keys.b);
  });
});

describe('the OpenAPI document', () => {
  it('lists every route the app serves, and the app serves every route it lists', async () => {
    const doc = openApiDocument('http://x') as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const { createApp } = await import('./app.js');
    const app = createApp({
      service: server.service,
      auth: {} as never,
      outbox: server.store,
      metrics: { registry: { contentType: '', metrics: async () => '' } } as never,
      logger: (await import('pino')).default({ level: 'silent' }),
      publicBaseUrl: 'http://x',
      maxBodyBytes: 1,
      adminMaxBodyBytes: 1,
      readiness: async () => ({ ready: true, checks: {} }),
    });
    type Layer = { route?: { path: string; methods: Record<string, boolean> } };
    const served = (app as unknown as { router: { stack: Layer[] } }).router.stack
      .filter((layer) => layer.route)
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map(
          (method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:([A-Za-z]+)/g, '{$1}')}`,
        ),
      )
      .sort();
    expect(served).toEqual(documented);
  });
});

describe('WEBHOOK_DEBUG and a store that is down', () => {
  it('logs signature diagnostics at the default level when asked, never the secret', async () => {
    const debug = await startTestServer({ debugSignatures: true });
    try {
      const created = (await (
        await fetch(`${debug.url}/integrations/github/webhooks`, {
          method: 'POST',
          headers: { ...auth(debug.keys.a), 'content-type': 'application/json' },
          body: JSON.stringify({ connectionId: 'c', events: ['*'] }),
        })
      ).json()) as { registrationId: string; webhookSecret: string };
      const body = JSON.stringify({ action: 'opened', issue: { id: 1 } });
      const response = await fetch(`${debug.url}/webhooks/${created.registrationId}`, {
        method: 'POST',
        headers: { ...signGitHub({ body, secret: 'wrong-secret' }), 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(401);
      const line = debug.logs.find((l) => l.includes('signature rejected'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({
        level: 30,
        reason: 'signature_mismatch',
        signatureHeaders: ['x-hub-signature-256'],
        bodyLength: Buffer.byteLength(body),
      });
      expect(debug.logs.join('\n')).not.toContain(created.webhookSecret);
    } finally {
      await debug.close();
    }
  });

  it('answers 503, not 500 or 401, when the key store cannot be read', async () => {
    const down = await startTestServer();
    try {
      down.store.findApiKeyByHash = async () => {
        throw new Error('SQLITE_BUSY: database is locked');
      };
      const result = await fetch(`${down.url}/webhooks`, { headers: auth(down.keys.a) });
      expect(result.status).toBe(503);
      const text = await result.text();
      expect(JSON.parse(text)).toEqual({ error: expect.any(String), code: 'store_unavailable' });
      expect(text).not.toContain('SQLITE_BUSY');
    } finally {
      await down.close();
    }
  });
});
