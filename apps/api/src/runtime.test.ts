import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEventGridCapture } from '@webhooks/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createRuntime, type Runtime } from './runtime.js';

const KEY = 'tenant-123-key-0123456789abcdef';
const dirs: string[] = [];
const open: Array<{ runtime: Runtime; server: Server }> = [];

afterEach(async () => {
  for (const { runtime, server } of open.splice(0)) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runtime.close();
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-runtime-'));
  dirs.push(dir);
  return dir;
}

async function start(env: Record<string, string>): Promise<{ url: string; runtime: Runtime; server: Server }> {
  const config = loadConfig({ LOG_LEVEL: 'silent', WEBHOOKS_API_KEYS: `tenant-123:${KEY}`, ...env });
  const runtime = await createRuntime(config, createLogger('silent'));
  const server = await new Promise<Server>((resolve) => {
    const s = createHttpServer(runtime.listener).listen(0, '127.0.0.1', () => resolve(s));
  });
  open.push({ runtime, server });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, runtime, server };
}

async function stop(entry: { runtime: Runtime; server: Server }): Promise<void> {
  open.splice(open.indexOf(open.find((o) => o.server === entry.server)!), 1);
  await new Promise<void>((resolve) => entry.server.close(() => resolve()));
  await entry.runtime.close();
}

describe('the embedded default', () => {
  it("runs the spec's integration flow on SQLite and the embedded queue, and survives a restart", async () => {
    const dir = dataDir();
    const first = await start({ WEBHOOKS_DATA_DIR: dir });
    const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

    const registered = (await (
      await fetch(`${first.url}/integrations/salesforce/webhooks`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ connectionId: 'salesforce-conn-test', events: ['contact.created', 'contact.updated'] }),
      })
    ).json()) as { registrationId: string; webhookSecret: string };

    const body =
      '{"action":"created","sobject":{"name":"Contact","fields":{"Id":"003xx000004TMM","FirstName":"John","LastName":"Doe"}}}';
    const signature = createHmac('sha256', registered.webhookSecret).update(body).digest('hex');
    const sent = await fetch(`${first.url}/webhooks/${registered.registrationId}`, {
      method: 'POST',
      headers: { 'x-salesforce-event-signature': `sha256=${signature}`, 'content-type': 'application/json' },
      body,
    });
    expect(sent.status).toBe(200);
    expect(await sent.json()).toMatchObject({
      success: true,
      eventType: 'created',
      entityId: '003xx000004TMM',
      syncTriggered: true,
    });

    const tasks = (await (
      await fetch(`${first.url}/sync-tasks?integrationId=salesforce`, { headers: auth })
    ).json()) as {
      tasks: Array<{ task: Record<string, unknown>; status: string }>;
    };
    expect(tasks.tasks).toHaveLength(1);
    expect(tasks.tasks[0]).toMatchObject({
      status: 'pending',
      task: {
        integrationId: 'salesforce',
        connectionId: 'salesforce-conn-test',
        syncType: 'webhook_triggered',
        entityId: '003xx000004TMM',
      },
    });

    await stop(first);
    const second = await start({ WEBHOOKS_DATA_DIR: dir });
    const again = await fetch(`${second.url}/webhooks/${registered.registrationId}`, { headers: auth });
    expect(again.status).toBe(200);
    const duplicate = await fetch(`${second.url}/webhooks/${registered.registrationId}`, {
      method: 'POST',
      headers: { 'x-salesforce-event-signature': `sha256=${signature}`, 'content-type': 'application/json' },
      body,
    });
    expect(await duplicate.json()).toMatchObject({ duplicate: true });

    // Secrets are sealed at rest: the data folder never holds one in plain text.
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    for (const file of readdirSync(dir)) {
      expect(readFileSync(join(dir, file)).includes(registered.webhookSecret)).toBe(false);
      expect(readFileSync(join(dir, file)).includes(KEY)).toBe(false);
    }
  });
});

describe('start-up checks', () => {
  it('fails with a clear message when Redis cannot be reached', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', WEBHOOKS_DATA_DIR: dataDir(), REDIS_URL: 'redis://127.0.0.1:1' });
    await expect(createRuntime(config, createLogger('silent'))).rejects.toThrow(/Cannot use Redis \(REDIS_URL\)/);
  });

  it('fails with a clear message when the Service Bus namespace cannot be reached', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      WEBHOOKS_DATA_DIR: dataDir(),
      SERVICEBUS_CONNECTION_STRING:
        'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=local;SharedAccessKey=local;UseDevelopmentEmulator=true',
    });
    const error = await createRuntime(config, createLogger('silent')).catch((e: unknown) => e);
    expect(String(error)).toMatch(/Cannot use Service Bus queue 'sync-tasks'/);
    expect(String(error)).not.toContain('SharedAccessKey=local');
  }, 30_000);

  it('requires WEBHOOKS_SECRET_KEY with Cosmos DB', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', COSMOS_ENDPOINT: 'https://127.0.0.1:1/', COSMOS_KEY: 'a2V5' });
    await expect(createRuntime(config, createLogger('silent'))).rejects.toThrow(/WEBHOOKS_SECRET_KEY is required/);
  });

  it('says exactly what is wrong with a provider package that is not one', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      WEBHOOKS_DATA_DIR: dataDir(),
      WEBHOOKS_PROVIDERS: 'no-such-provider-package',
    });
    await expect(createRuntime(config, createLogger('silent'))).rejects.toThrow(
      /Provider package 'no-such-provider-package' could not be loaded/,
    );
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function signedGitHub(url: string, registration: { registrationId: string; webhookSecret: string }, n: number) {
  const body = JSON.stringify({ action: 'opened', issue: { id: 5000 + n, number: n, title: `issue ${n}` } });
  const signature = createHmac('sha256', registration.webhookSecret).update(body).digest('hex');
  return fetch(`${url}/webhooks/${registration.registrationId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': `delivery-${n}`,
      'x-hub-signature-256': `sha256=${signature}`,
    },
    body,
  });
}

async function registerGitHub(url: string): Promise<{ registrationId: string; webhookSecret: string }> {
  const response = await fetch(`${url}/integrations/github/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      connectionId: 'conn-1',
      events: ['issue.*'],
      retryPolicy: { maxRetries: 5, backoffSeconds: 1 },
    }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { registrationId: string; webhookSecret: string };
}

describe('with REDIS_URL (a real redis-server)', () => {
  it('starts, accepts a delivery once and answers its repeat as a duplicate', async () => {
    const port = await freePort();
    const dir = dataDir();
    const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { url } = await start({ WEBHOOKS_DATA_DIR: dir, REDIS_URL: `redis://127.0.0.1:${port}` });
      const registration = await registerGitHub(url);
      const first = await signedGitHub(url, registration, 1);
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ duplicate: false, syncTriggered: true });
      const repeat = await signedGitHub(url, registration, 1);
      expect(repeat.status).toBe(200);
      expect(await repeat.json()).toMatchObject({ duplicate: true });
    } finally {
      if (redis.pid !== undefined) process.kill(redis.pid, 'SIGKILL');
    }
  }, 30_000);
});

describe('with EVENTGRID_ENDPOINT', () => {
  it('publishes webhook.received; one that Event Grid refused is published from the outbox once it is back', async () => {
    const capture = await startEventGridCapture({ key: 'topic-key' });
    try {
      const { url } = await start({
        WEBHOOKS_DATA_DIR: dataDir(),
        EVENTGRID_ENDPOINT: capture.endpoint,
        EVENTGRID_KEY: 'topic-key',
        WEBHOOKS_DISPATCH_BACKOFF_SECONDS: '1',
      });
      const registration = await registerGitHub(url);
      // Every try of the inline publish fails (the client retries once): the event waits in the outbox.
      capture.failNext(2, 503);
      const sent = await signedGitHub(url, registration, 7);
      expect(sent.status).toBe(200);
      const published = () =>
        capture.events.filter((e) => (e.event.data as { event: { entityId: string } }).event.entityId === '5007');
      const deadline = Date.now() + 15_000;
      while (published().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(published()).toHaveLength(1);
      expect(capture.requests.filter((r) => r.status === 503)).toHaveLength(2);
      // A repeat publishes nothing more.
      expect(await (await signedGitHub(url, registration, 7)).json()).toMatchObject({ duplicate: true });
      await new Promise((r) => setTimeout(r, 1500));
      expect(published()).toHaveLength(1);
      expect(capture.requests.map((r) => r.rawBody.toString('utf8')).join('\n')).not.toContain(
        registration.webhookSecret,
      );
    } finally {
      await capture.close();
    }
  }, 30_000);
});
