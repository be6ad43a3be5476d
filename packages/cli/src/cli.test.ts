import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from './run.js';
import { SIGNABLE_PROVIDERS } from './sign.js';
import { cli, type RunningApi, startApi, TEST_TOKEN } from './test-support.js';

let api: RunningApi;
let env: Record<string, string>;
const files = mkdtempSync(join(tmpdir(), 'webhooks-cli-files-'));

// Google signs Pub/Sub pushes with its own key; the test trusts a key of its own instead.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'cli-test-key';
const SERVICE_ACCOUNT = 'pubsub-push@example-project.iam.gserviceaccount.com';
const PEM_FILE = join(files, 'google.pem');
const JWKS_FILE = join(files, 'jwks.json');
writeFileSync(PEM_FILE, privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(
  JWKS_FILE,
  JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] }),
);
const ORG_ID = '00D5g000004ABCDEAA';

beforeAll(async () => {
  api = await startApi();
  env = { WEBHOOKS_API_URL: api.url, WEBHOOKS_TOKEN: TEST_TOKEN };
}, 30_000);

afterAll(async () => {
  await api?.close();
  rmSync(files, { recursive: true, force: true });
});

/** What to pass at registration and at send time so that each provider's proof holds. */
function providerArgs(provider: string): { register: string[]; send: string[] } {
  const issued = `issued-${randomBytes(12).toString('hex')}`;
  switch (provider) {
    case 'notion': {
      const token = `secret_${randomBytes(16).toString('hex')}`;
      return { register: ['--secret', token], send: [] };
    }
    case 'slack':
    case 'stripe':
    case 'shopify':
    case 'twilio':
    case 'hubspot':
    case 'linear':
    case 'zoom':
    case 'google-calendar':
    case 'salesforce-datacloud':
      return { register: ['--secret', issued], send: [] };
    case 'salesforce-outbound':
      return { register: ['--org-id', ORG_ID], send: ['--org-id', ORG_ID] };
    case 'google':
      return {
        register: ['--service-account', SERVICE_ACCOUNT, '--jwks', JWKS_FILE],
        send: ['--private-key', PEM_FILE, '--kid', KID, '--service-account', SERVICE_ACCOUNT],
      };
    default:
      // github, salesforce, standard-webhooks, svix, msgraph take the secret the receiver generates.
      return { register: [], send: [] };
  }
}

interface Registered {
  registrationId: string;
  webhookUrl: string;
  webhookSecret: string;
  status: string;
}

async function register(provider: string, extra: string[] = []): Promise<Registered> {
  const result = await cli(['register', provider, '--connection', `conn-${provider}`, '--json', ...extra], { env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(EXIT.ok);
  return JSON.parse(result.stdout) as Registered;
}

describe('webhooks send <provider> against a running apps/api', () => {
  it.each(SIGNABLE_PROVIDERS)('%s: a signed sample is accepted (exit 0)', async (provider) => {
    const args = providerArgs(provider);
    const registered = await register(provider, args.register);
    const sent = await cli(
      ['send', provider, '--url', registered.webhookUrl, '--secret', registered.webhookSecret, '--json', ...args.send],
      { env },
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(EXIT.ok);
    const answer = JSON.parse(sent.stdout) as Record<string, unknown>;
    if (provider === 'salesforce-outbound') {
      // Salesforce needs its SOAP Ack, so the answer is XML, wrapped by --json.
      expect(answer).toMatchObject({ status: 200 });
      expect(String(answer.body)).toContain('<Ack>true</Ack>');
    } else {
      expect(answer).toMatchObject({ success: true });
    }

    const tail = await cli(['tail', registered.registrationId, '--once', '--json'], { env });
    expect(tail.code).toBe(EXIT.ok);
    const deliveries = tail.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { outcome: string });
    expect(deliveries.map((d) => d.outcome)).toEqual(['accepted']);
  });

  it('every sample event of a provider is accepted', async () => {
    const registered = await register('github');
    for (const event of ['issues', 'pull_request', 'push', 'ping']) {
      const sent = await cli(
        ['send', 'github', '--url', registered.webhookUrl, '--secret', registered.webhookSecret, '--event', event],
        { env },
      );
      expect(sent.code, event).toBe(EXIT.ok);
      expect(sent.stdout, event).toMatch(/200 OK/);
    }
  });

  it('a wrong secret gets 401 and exit code 1', async () => {
    const registered = await register('stripe', ['--secret', 'whsec_the_right_one']);
    const sent = await cli(
      ['send', 'stripe', '--url', registered.webhookUrl, '--secret', 'whsec_a_wrong_one', '--json'],
      {
        env,
      },
    );
    expect(sent.code).toBe(EXIT.refused);
    expect(JSON.parse(sent.stdout)).toMatchObject({ success: false, reason: 'signature_mismatch' });

    const human = await cli(['send', 'stripe', '--url', registered.webhookUrl, '--secret', 'whsec_a_wrong_one'], {
      env,
    });
    expect(human.code).toBe(EXIT.refused);
    expect(human.stdout).toMatch(/401 Unauthorized/);
  });

  it('a tampered body gets 401 and exit code 1', async () => {
    const registered = await register('github');
    const sent = await cli(
      ['send', 'github', '--url', registered.webhookUrl, '--secret', registered.webhookSecret, '--tamper', '--json'],
      { env },
    );
    expect(sent.code).toBe(EXIT.refused);
    expect(JSON.parse(sent.stdout)).toMatchObject({ reason: 'signature_mismatch' });

    const tail = await cli(['tail', registered.registrationId, '--once'], { env });
    expect(tail.stdout).toMatch(/rejected .*reason=signature_mismatch/);
  });

  it('sends a body file byte for byte, and a 400 for a body that is no event', async () => {
    const registered = await register('github');
    const file = join(files, 'issue.json');
    writeFileSync(file, '{"action":"closed","issue":{"id":42,"number":7,"title":"Done"},"repository":{"id":1}}');
    const sent = await cli(
      [
        'send',
        'github',
        '--url',
        registered.webhookUrl,
        '--secret',
        registered.webhookSecret,
        '--body',
        file,
        '--json',
      ],
      { env },
    );
    expect(sent.code).toBe(EXIT.ok);
    expect(JSON.parse(sent.stdout)).toMatchObject({ success: true, eventType: 'closed', entityId: '42' });
  });
});

describe('webhooks sign', () => {
  it('prints only the headers, and never sends anything', async () => {
    const result = await cli(['sign', 'slack', '--secret', 'slack-signing-secret'], { env: {} });
    expect(result.code).toBe(EXIT.ok);
    const lines = result.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(
      expect.arrayContaining(['content-type', 'x-slack-request-timestamp', 'x-slack-signature']),
    );
    expect(result.stdout).not.toContain('slack-signing-secret');
  });

  it('--json gives headers and the exact body; --body-out writes the body', async () => {
    const out = join(files, 'signed-body.json');
    const result = await cli(
      ['sign', 'stripe', '--secret', 'whsec_x', '--event', 'invoice.paid', '--json', '--body-out', out],
      {
        env: {},
      },
    );
    expect(result.code).toBe(EXIT.ok);
    const signed = JSON.parse(result.stdout) as { headers: Record<string, string>; body: string; event: string };
    expect(signed.event).toBe('invoice.paid');
    expect(signed.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(signed.body)).toMatchObject({ type: 'invoice.paid' });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(out, 'utf8')).toBe(signed.body);
  });
});

describe('admin commands', () => {
  it('register, list, get, health, rotate, delete', async () => {
    const registered = await register('github', ['--events', 'issue.*,pull_request.opened']);
    expect(registered.registrationId).toMatch(/^wh_/);
    expect(registered.webhookSecret).toMatch(/^whsec_/);

    const human = await cli(['register', 'github', '--connection', 'conn-human'], { env });
    expect(human.code).toBe(EXIT.ok);
    expect(human.stdout).toMatch(/Registered wh_\S+ \(github\)/);
    expect(human.stdout).toMatch(/secret\s+whsec_\S+ {2}\(shown once: store it now\)/);
    expect(human.stdout).toMatch(/Setup:\n {2}- Webhook URL: http/);

    const listed = await cli(['list', '--integration', 'github', '--connection', 'conn-github', '--json'], { env });
    expect(listed.code).toBe(EXIT.ok);
    const list = JSON.parse(listed.stdout) as { webhooks: Array<{ id: string }>; total: number };
    expect(list.webhooks.map((w) => w.id)).toContain(registered.registrationId);
    const table = await cli(['list'], { env });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+PROVIDER\s+CONNECTION\s+STATUS\s+EVENTS$/);
    expect(table.stdout).toContain(registered.registrationId);

    const got = await cli(['get', registered.registrationId, '--json'], { env });
    expect(got.code).toBe(EXIT.ok);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: registered.registrationId, integrationId: 'github' });
    expect(got.stdout).not.toContain(registered.webhookSecret);
    const gotHuman = await cli(['get', registered.registrationId], { env });
    expect(gotHuman.stdout).toMatch(/integrationId\s+github/);

    const health = await cli(['health', registered.registrationId, '--json'], { env });
    expect(health.code).toBe(EXIT.ok);
    expect(JSON.parse(health.stdout)).toMatchObject({ registrationId: registered.registrationId });
    const service = await cli(['health'], { env: { WEBHOOKS_API_URL: api.url } });
    expect(service.code).toBe(EXIT.ok);
    expect(service.stdout).toMatch(/status\s+\w+/);

    const rotated = await cli(['rotate', registered.registrationId, '--json'], { env });
    expect(rotated.code).toBe(EXIT.ok);
    const rotation = JSON.parse(rotated.stdout) as { webhookSecret: string; previousSecretExpiresAt: string };
    expect(rotation.webhookSecret).not.toBe(registered.webhookSecret);
    // Both secrets verify during the grace period.
    for (const secret of [rotation.webhookSecret, registered.webhookSecret]) {
      const sent = await cli(['send', 'github', '--url', registered.webhookUrl, '--secret', secret], { env });
      expect(sent.code).toBe(EXIT.ok);
    }
    const installed = await cli(['rotate', registered.registrationId, '--secret', 'provider-issued-0123'], { env });
    expect(installed.stdout).toMatch(/new secret\s+provider-issued-0123/);

    const deleted = await cli(['delete', registered.registrationId], { env });
    expect(deleted.code).toBe(EXIT.ok);
    expect(deleted.stdout).toMatch(/Deleted wh_/);
    const gone = await cli(['get', registered.registrationId], { env });
    expect(gone.code).toBe(EXIT.refused);
    expect(gone.stderr).toMatch(/404 .*\(not_found\)/);
    const goneJson = await cli(['delete', registered.registrationId, '--json'], { env });
    expect(goneJson.code).toBe(EXIT.refused);
    expect(JSON.parse(goneJson.stdout)).toMatchObject({ code: 'not_found' });
  });

  it('a wrong token is refused (exit 1) and never printed', async () => {
    const token = 'not-the-right-token-0123456789';
    const result = await cli(['list', '--token', token], { env: { WEBHOOKS_API_URL: api.url } });
    expect(result.code).toBe(EXIT.refused);
    expect(result.stderr).toMatch(/^401 /);
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('tail --once shows the recent deliveries, oldest first', async () => {
    const registered = await register('github');
    for (const event of ['issues', 'push']) {
      await cli(
        ['send', 'github', '--url', registered.webhookUrl, '--secret', registered.webhookSecret, '--event', event],
        {
          env,
        },
      );
    }
    const tail = await cli(['tail', registered.registrationId, '--once'], { env });
    expect(tail.code).toBe(EXIT.ok);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/accepted\s+issue\.opened/);
    expect(lines[1]).toMatch(/accepted\s+\S+\.push/);
  });

  it('tail follows new deliveries until stopped', async () => {
    const registered = await register('github');
    const controller = new AbortController();
    const following = cli(['tail', registered.registrationId, '--interval', '50'], { env, signal: controller.signal });
    await cli(['send', 'github', '--url', registered.webhookUrl, '--secret', registered.webhookSecret], { env });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    const result = await following;
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/Waiting for deliveries/);
    expect(result.stdout).toMatch(/accepted\s+issue\.opened/);
  });
});

describe('exit codes and output', () => {
  it.each([
    [[], /Usage: webhooks <command>/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['send', 'github', '--nope'], /Unknown option '--nope'/],
    [['send'], /expected send <provider>/],
    [['send', 'github', '--secret', 'x'], /send needs --url/],
    [['send', 'github', '--url', 'ftp://x', '--secret', 'x'], /--url must be an http\(s\) URL/],
    [['send', 'nope', '--url', 'http://127.0.0.1:1/'], /Unknown provider 'nope'/],
    [['send', 'google', '--url', 'http://127.0.0.1:1/'], /google needs --private-key <pem file> --kid/],
    [['register', 'github'], /register needs --connection/],
    [['list'], /No API token: pass --token or set WEBHOOKS_TOKEN/],
    [['tail', 'wh_1', '--interval', '0', '--token', 'x'], /--interval must be a positive whole number/],
    [['register', 'github', '--connection', 'c', '--metadata', '{', '--token', 'x'], /--metadata is not valid JSON/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const result = await cli(argv, { env: {} });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('cannot reach the server: exit 3', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const listed = await cli(['list', '--api', url, '--token', TEST_TOKEN], { env: {} });
    expect(listed.code).toBe(EXIT.unreachable);
    expect(listed.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(listed.stderr).not.toContain(TEST_TOKEN);
    const sent = await cli(['send', 'github', '--url', `${url}/webhooks/wh_1`, '--secret', 'x'], { env: {} });
    expect(sent.code).toBe(EXIT.unreachable);
  });

  it.each(['send', 'sign', 'register', 'list', 'get', 'health', 'rotate', 'delete', 'tail', 'providers'])(
    '%s --help prints its usage (exit 0)',
    async (command) => {
      const result = await cli([command, '--help'], { env: {} });
      expect(result.code).toBe(EXIT.ok);
      expect(result.stdout).toContain(`Usage: webhooks ${command}`);
      expect(result.stdout).toContain('--json');
    },
  );

  it('uses colours only on a terminal, and not with NO_COLOR', async () => {
    const registered = await register('github');
    const args = ['send', 'github', '--url', registered.webhookUrl, '--secret', registered.webhookSecret];
    expect((await cli(args, { env, tty: true })).stdout).toContain('\u001b[32m');
    expect((await cli(args, { env, tty: false })).stdout).not.toContain('\u001b[');
    expect((await cli(args, { env: { ...env, NO_COLOR: '1' }, tty: true })).stdout).not.toContain('\u001b[');
    expect((await cli([...args, '--no-color'], { env, tty: true })).stdout).not.toContain('\u001b[');
  });

  it('providers lists every provider with its sample events', async () => {
    const result = await cli(['providers', '--json'], { env: {} });
    const { providers } = JSON.parse(result.stdout) as { providers: Array<{ id: string; events: string[] }> };
    expect(providers.map((p) => p.id)).toEqual([...SIGNABLE_PROVIDERS]);
    expect(providers.find((p) => p.id === 'stripe')!.events).toContain('invoice.paid');
  });
});
