import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionCredentials } from '@webhooks/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubRegistrar } from './registrars.js';
import { harness } from './test-support.js';

const TENANT = 'tenant-1';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
}

/** A stand-in for GitHub's REST API over real HTTP: records each request, answers with `status`. */
async function fakeGitHub(): Promise<{ baseUrl: string; seen: Seen[]; status: { hooks: number; config: number } }> {
  const seen: Seen[] = [];
  const status = { hooks: 201, config: 200 };
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    });
    const code = req.method === 'PATCH' ? status.config : req.method === 'POST' ? status.hooks : 204;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(code === 201 ? JSON.stringify({ id: 4242 }) : code === 200 ? '{}' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, status };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

const credentials: ConnectionCredentials = {
  async get(tenantId, connectionId) {
    return tenantId === TENANT && connectionId === 'conn-1' ? { token: 'ghp_test', owner: 'acme', repo: 'app' } : null;
  },
};

describe('createGitHubRegistrar', () => {
  it('creates the hook with the secret, installs a rotated secret in it, and deletes it', async () => {
    const github = await fakeGitHub();
    const registrar = createGitHubRegistrar({ credentials, baseUrl: github.baseUrl });
    const h = harness({ registrars: { github: registrar }, credentials });
    const { registration, setup } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
    expect(setup).toBeUndefined();
    expect(registration).toMatchObject({ status: 'active', providerWebhookId: '4242' });
    expect(github.seen[0]).toMatchObject({
      method: 'POST',
      url: '/repos/acme/app/hooks',
      authorization: 'Bearer ghp_test',
      body: { events: ['issues'], config: { url: registration.webhookUrl, secret: registration.webhookSecret } },
    });

    const rotated = await h.service.rotateWebhookSecret(registration.id, TENANT);
    expect(rotated.providerUpdated).toBe(true);
    expect(github.seen[1]).toMatchObject({
      method: 'PATCH',
      url: '/repos/acme/app/hooks/4242/config',
      body: { url: registration.webhookUrl, content_type: 'json', secret: rotated.webhookSecret },
    });

    await h.service.unregisterWebhook(registration.id, TENANT);
    expect(github.seen[2]).toMatchObject({ method: 'DELETE', url: '/repos/acme/app/hooks/4242' });
  });

  it('a rotation GitHub refuses is still stored, and says the secret must be installed by hand', async () => {
    const github = await fakeGitHub();
    const h = harness({
      registrars: { github: createGitHubRegistrar({ credentials, baseUrl: github.baseUrl }) },
      credentials,
    });
    const { registration } = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
    github.status.config = 404;
    const rotated = await h.service.rotateWebhookSecret(registration.id, TENANT);
    expect(rotated.providerUpdated).toBe(false);
    expect((await h.store.get(registration.id))?.webhookSecret).toBe(rotated.webhookSecret);
    // The previous secret keeps verifying through its grace period meanwhile.
    expect((await h.store.get(registration.id))?.previousSecrets?.[0]?.secret).toBe(registration.webhookSecret);
  });

  it('falls back to manual setup without credentials or when GitHub refuses, and rotation then says nothing', async () => {
    const github = await fakeGitHub();
    github.status.hooks = 422;
    const h = harness({
      registrars: { github: createGitHubRegistrar({ credentials, baseUrl: github.baseUrl }) },
      credentials,
    });
    const refused = await h.service.registerWebhook(TENANT, 'github', 'conn-1', ['issue.*']);
    expect(refused.setup?.instructions[0]).toContain('GitHub answered 422');
    const unknown = await h.service.registerWebhook(TENANT, 'github', 'conn-unknown', ['issue.*']);
    expect(unknown.setup?.kind).toBe('manual');
    expect(github.seen).toHaveLength(1);
    const rotated = await h.service.rotateWebhookSecret(refused.registration.id, TENANT);
    expect(rotated.providerUpdated).toBeUndefined();
    expect(github.seen).toHaveLength(1);
  });
});
