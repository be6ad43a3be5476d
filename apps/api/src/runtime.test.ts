import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const s = runtime.app.listen(0, '127.0.0.1', () => resolve(s));
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
