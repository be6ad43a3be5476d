import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signIntercom } from '@webhooks/provider-intercom';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { loadProviders, ProviderLoadError } from './providers.js';
import { createRuntime, type Runtime } from './runtime.js';

const KEY = 'tenant-123-key-0123456789abcdef';
const WITHOUT_PARSE = new URL('./fixtures/provider-without-parse.mjs', import.meta.url).href;
const WITHOUT_DEFAULT = new URL('./fixtures/provider-without-default.mjs', import.meta.url).href;
const cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-providers-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(env: Record<string, string>): Promise<{ url: string; runtime: Runtime }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WEBHOOKS_API_KEYS: `tenant-123:${KEY}`,
    WEBHOOKS_DATA_DIR: dataDir(),
    PUBLIC_BASE_URL: url,
    ...env,
  });
  const runtime = await createRuntime(config, createLogger('silent'));
  cleanup.push(() => runtime.close());
  server.on('request', runtime.listener);
  return { url, runtime };
}

describe('extra providers named in WEBHOOKS_PROVIDERS', () => {
  it('loads @webhooks/provider-intercom by configuration alone and receives its webhooks', async () => {
    const { url } = await start({ WEBHOOKS_PROVIDERS: '@webhooks/provider-intercom' });
    const admin = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const secret = 'intercom-client-secret-0123456789';
    const registered = await fetch(`${url}/integrations/intercom/webhooks`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ connectionId: 'intercom-conn', events: ['conversation.*'], webhookSecret: secret }),
    });
    expect(registered.status).toBe(201);
    const { registrationId } = (await registered.json()) as { registrationId: string };

    const body = JSON.stringify({
      type: 'notification_event',
      app_id: 'a86dr8yl',
      data: { type: 'notification_event_data', item: { type: 'conversation', id: '147', state: 'open' } },
      id: 'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
      topic: 'conversation.user.created',
      created_at: Math.floor(Date.now() / 1000),
    });
    const send = (signature: Record<string, string>) =>
      fetch(`${url}/webhooks/${registrationId}`, { method: 'POST', headers: signature, body });

    const accepted = await send(signIntercom({ body, secret }));
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({
      success: true,
      eventType: 'created',
      entityId: '147',
      syncTriggered: true,
    });
    const again = await send(signIntercom({ body, secret }));
    expect(await again.json()).toMatchObject({ duplicate: true });
    const forged = await send(signIntercom({ body, secret: 'not-the-client-secret' }));
    expect(forged.status).toBe(401);
  });

  it('refuses to start when a package does not export a WebhookProvider, saying exactly why', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', WEBHOOKS_DATA_DIR: dataDir(), WEBHOOKS_PROVIDERS: WITHOUT_PARSE });
    await expect(createRuntime(config, createLogger('silent'))).rejects.toThrow(
      `Provider package '${WITHOUT_PARSE}' does not export a WebhookProvider: \`parse\` must be a function`,
    );
  });
});

describe('loadProviders(packageNames)', () => {
  it('returns the default export of a good provider package', async () => {
    const [provider, ...rest] = await loadProviders(['@webhooks/provider-intercom']);
    expect(rest).toHaveLength(0);
    expect(provider!.id).toBe('intercom');
  });

  it('names the missing member of a bad one', async () => {
    const error = await loadProviders([WITHOUT_PARSE]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderLoadError);
    expect((error as Error).message).toBe(
      `Provider package '${WITHOUT_PARSE}' does not export a WebhookProvider: \`parse\` must be a function`,
    );
  });

  it('asks for a default export when there is none', async () => {
    await expect(loadProviders([WITHOUT_DEFAULT])).rejects.toThrow(
      `Provider package '${WITHOUT_DEFAULT}' has no default export; export default defineProvider({ ... })`,
    );
  });

  it('says when a package cannot be found', async () => {
    await expect(loadProviders(['@webhooks/provider-does-not-exist'])).rejects.toThrow(
      /^Provider package '@webhooks\/provider-does-not-exist' could not be loaded: /,
    );
  });
});
