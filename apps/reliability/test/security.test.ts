// Attack: fuzzing of the signature-header parsers (in process, every provider id) and of the receive
// route (over HTTP, raw bytes included); an invalid-signature flood against one registration while
// another tenant's valid deliveries are measured (unbounded, and bounded at a fixed rate from a
// process of its own); the tenant-isolation matrix over every admin route of /openapi.json;
// prototype-pollution payloads; canary secrets grep'd from every log line (debug level,
// WEBHOOK_DEBUG) and every answer; no stack trace in any error body. One receiver for the file.
import { createHmac, randomUUID } from 'node:crypto';
import { PROVIDER_IDS, verifyWebhook } from '@webhooks/verifiers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bearer, type Registered, registerWebhook } from '../src/admin.js';
import { report } from '../src/figures.js';
import { type FloodPhase, JunkFlood } from '../src/flood.js';
import { cleanup, machineCpuMs, Receiver, scale, sleep } from '../src/harness.js';
import {
  type Answer,
  closedLoop,
  openLoop,
  type Run,
  resetAgents,
  round,
  type Shot,
  type Summary,
  send,
  sendGitHub,
  summarize,
} from '../src/load.js';
import { buildRequest, rawRequest } from '../src/raw.js';

// ------------------------------------------------------------------ canaries

const CANARY_WEBHOOK_SECRET = 'whsec_CanaryWebhookSecret7Qx9Reliability3Zk';
const CANARY_ROTATED_SECRET = 'whsec_CanaryRotatedSecret4Wv8Reliability6Jm';
const CANARY_API_KEY = 'CanaryApiKey2Hs5Reliability8Tn';
const CANARY_SECRET_KEY = 'ca11ab1e5eed0fca11ab1e5eed0fca11ab1e5eed0fca11ab1e5eed0fca11ab1e';
const CANARIES: Record<string, string> = {
  webhookSecret: CANARY_WEBHOOK_SECRET,
  rotatedWebhookSecret: CANARY_ROTATED_SECRET,
  apiKey: CANARY_API_KEY,
  secretKeyHex: CANARY_SECRET_KEY,
  secretKeyBase64: Buffer.from(CANARY_SECRET_KEY, 'hex').toString('base64'),
};

const A = { tenantId: 'tenant-a', key: CANARY_API_KEY };
const B = { tenantId: 'tenant-b', key: 'tenant-b-key-0123456789abcdef' };
const C = { tenantId: 'tenant-c', key: 'tenant-c-key-0123456789abcdef' };
const MAX_BODY = 256 * 1024;

let receiver: Receiver;
let regA: Registered;
let regB: Registered;
let bDeliveryId = '';
let bKeyId = '';

/** Every answer of this file, for the canary grep and the stack-trace check. */
const answers: Array<{ what: string; status: number; text: string; headers: string; secretExpected?: boolean }> = [];

function keep(what: string, answer: Answer, secretExpected = false): Answer {
  answers.push({
    what,
    status: answer.status,
    text: answer.text,
    headers: JSON.stringify(answer.headers),
    secretExpected,
  });
  return answer;
}

async function call(
  method: string,
  path: string,
  key?: string,
  body?: unknown,
  secretExpected = false,
): Promise<Answer> {
  const answer = await send(`${receiver.url}${path}`, {
    method,
    headers: key ? bearer(key) : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return keep(`${method} ${path}`, answer, secretExpected);
}

beforeAll(async () => {
  receiver = await Receiver.start({
    tenants: [A, B, C],
    secretKey: CANARY_SECRET_KEY,
    logLevel: 'debug',
    env: {
      WEBHOOK_DEBUG: 'true',
      WEBHOOKS_MAX_BODY_BYTES: String(MAX_BODY),
      WEBHOOKS_RATE_LIMIT_PER_MINUTE: '10000000',
      WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '10000000',
    },
  });
  const created = await call(
    'POST',
    '/integrations/github/webhooks',
    A.key,
    { connectionId: 'conn-a', events: ['issue.*'], webhookSecret: CANARY_WEBHOOK_SECRET },
    true,
  );
  expect(created.status).toBe(201);
  regA = created.body as Registered;
  expect(regA.webhookSecret).toBe(CANARY_WEBHOOK_SECRET);
  regB = await registerWebhook(receiver.url, B.key, { connectionId: 'conn-b-private' });
  // B has a delivery and an API key of its own, so every B route has something to leak.
  const shot = await sendGitHub(receiver.url, regB, 1);
  expect(shot.status).toBe(200);
  bDeliveryId = (shot.body as { deliveryId: string }).deliveryId;
  const key = await call('POST', '/api-keys', B.key, { name: 'b-second' });
  expect(key.status).toBe(201);
  bKeyId = (key.body as { id: string }).id;
}, 90_000);

afterAll(async () => {
  resetAgents();
  await cleanup();
});

// ------------------------------------------------------------------ fuzzing the parsers in process

const SIGNATURE_HEADERS = [
  'authorization',
  'linear-signature',
  'linear-delivery',
  'stripe-signature',
  'svix-id',
  'svix-signature',
  'svix-timestamp',
  'webhook-id',
  'webhook-signature',
  'webhook-timestamp',
  'x-github-delivery',
  'x-github-event',
  'x-goog-channel-token',
  'x-goog-channel-id',
  'x-goog-resource-state',
  'x-hub-signature-256',
  'x-hubspot-request-timestamp',
  'x-hubspot-signature',
  'x-hubspot-signature-v3',
  'x-hubspot-signature-version',
  'x-notion-signature',
  'x-salesforce-event-signature',
  'x-shopify-hmac-sha256',
  'x-signature',
  'x-slack-request-timestamp',
  'x-slack-signature',
  'x-twilio-signature',
  'x-zm-request-timestamp',
  'x-zm-signature',
];

/** Header values an attacker can send: plausible shapes, broken shapes, huge, binary-ish, arrays. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', ' ', ',', '=', 'sha256=', 'v1=', 't=,v1=', 'v0=zz', 'Bearer ', 'Bearer a.b.c', 'v1,', 'v1a,'),
  fc
    .tuple(fc.constantFrom('sha256=', 'v0=', 'v1=', 't=1,v1=', 'v1,', 'Bearer '), fc.string({ maxLength: 120 }))
    .map(([p, s]) => p + s),
  fc.integer().map(String),
  fc.constant('x'.repeat(70_000)),
  fc.constant('\u0000\uFFFD\uD800'),
  fc.array(fc.string({ maxLength: 40 }), { minLength: 0, maxLength: 4 }),
);

const headerMap = fc.dictionary(
  fc.oneof(
    fc.constantFrom(...SIGNATURE_HEADERS),
    fc.constantFrom(...SIGNATURE_HEADERS).map((h) => h.toUpperCase()),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'content-type', 'content-length'),
    fc.string({ maxLength: 20 }),
  ),
  headerValue,
  { maxKeys: 8 },
);

const body = fc.oneof(
  fc.string({ maxLength: 500 }),
  fc.json({ maxDepth: 4 }),
  fc.uint8Array({ maxLength: 500 }),
  fc.constantFrom('{"type":"url_verification","challenge":"x"}', '{"event":"endpoint.url_validation","payload":{}}'),
  fc.constant(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1])),
);

// ------------------------------------------------------------------ the flood's two tenants

/** Tenant A's valid deliveries, open loop, in every flood scenario. */
const VALID_RATE = 100;
/** The bounded flood's junk rate against tenant B's registration (RELIABILITY_FLOOD_RATE to try others). */
const BOUNDED_JUNK_RATE = Number(process.env.RELIABILITY_FLOOD_RATE ?? 1000);
/** The bounded flood on another receiver process instead: the control experiment (see the test). */
const FLOOD_DECOY = process.env.RELIABILITY_FLOOD_DECOY === '1';
/** From switching the flood on to measuring under it. */
const LEAD_IN_MS = 300;

interface FloodSetup {
  target: Receiver;
  /** Tenant A's registrations, which the valid deliveries are spread over. */
  valid: Registered[];
  /** Tenant B's registration, the one flooded. */
  junkTarget: Registered;
}

/**
 * A receiver of its own at the default log level (this file's main one logs at debug). The default
 * guard also limits the valid tenant per registration: its deliveries are spread over 10 of them.
 */
async function floodSetup(defaultGuard: boolean): Promise<FloodSetup> {
  const target = await Receiver.start({
    tenants: [A, B],
    logLevel: 'info',
    env: {
      WEBHOOKS_RATE_LIMIT_PER_MINUTE: '10000000',
      ...(defaultGuard ? {} : { WEBHOOKS_FLOOD_LIMIT_PER_MINUTE: '10000000' }),
    },
  });
  const valid: Registered[] = [];
  for (let i = 0; i < 10; i++) valid.push(await registerWebhook(target.url, A.key, { connectionId: `flood-${i}` }));
  const junkTarget = await registerWebhook(target.url, B.key, { connectionId: 'conn-b-flooded' });
  return { target, valid, junkTarget };
}

interface Attacker {
  begin(): void;
  /** Stops the flood; resolves once its requests in flight are answered. `warmUp`: nothing was measured. */
  end(warmUp: boolean): Promise<void>;
}

interface Phases {
  summary: Summary;
  /** Each phase's p50, in order. */
  p50s: number[];
  wallMs: number;
  /** CPU time over the phases: the receiver's, this test process's (the valid tenant's sender). */
  receiverCpuMs: number;
  testCpuMs: number;
  /** The whole machine's share busy (every core, every process, other work included), in %. */
  machineBusyPct: number;
}

/**
 * Tenant A at VALID_RATE in an open loop: a warm-up under the flood (V8 optimises the receiver's and
 * the attacker's hot paths over the first seconds: without it the first flooded phase is slower than
 * the later ones), then quiet and flooded phases alternating (drift on a shared machine cancels out);
 * the flood starts LEAD_IN_MS before its phase and is stopped after it.
 */
async function alternate(
  { target, valid }: FloodSetup,
  attacker: Attacker,
  shape: { rounds: number; phaseMs: number; warmUpMs: number },
): Promise<{ quiet: Phases; flooded: Phases }> {
  let n = 100_000;
  const validLoad = (durationMs: number) =>
    openLoop({ ratePerSecond: VALID_RATE, durationMs }, () => {
      const i = n++;
      return sendGitHub(target.url, valid[i % valid.length]!, i);
    });
  const measured = async () => {
    const receiver = target.cpuMs();
    const test = process.cpuUsage();
    const machine = machineCpuMs();
    const run = await validLoad(shape.phaseMs);
    const testCpu = process.cpuUsage(test);
    const machineAfter = machineCpuMs();
    return {
      run,
      receiverCpuMs: target.cpuMs() - receiver,
      testCpuMs: (testCpu.user + testCpu.system) / 1000,
      machineBusyMs: machineAfter.busy - machine.busy,
      machineTotalMs: machineAfter.total - machine.total,
    };
  };
  type Measured = Awaited<ReturnType<typeof measured>>;
  const phases = (list: Measured[]): Phases => {
    const sum = (f: (m: Measured) => number) => list.reduce((t, m) => t + f(m), 0);
    return {
      summary: summarize({ shots: list.flatMap((m) => m.run.shots), wallMs: sum((m) => m.run.wallMs) }),
      p50s: list.map((m) => summarize(m.run).p50),
      wallMs: sum((m) => m.run.wallMs),
      receiverCpuMs: sum((m) => m.receiverCpuMs),
      testCpuMs: sum((m) => m.testCpuMs),
      machineBusyPct: round((sum((m) => m.machineBusyMs) / sum((m) => m.machineTotalMs)) * 100, 0),
    };
  };
  attacker.begin();
  try {
    await validLoad(shape.warmUpMs);
  } finally {
    await attacker.end(true);
  }
  const quiet: Measured[] = [];
  const flooded: Measured[] = [];
  for (let round = 0; round < shape.rounds; round++) {
    quiet.push(await measured());
    attacker.begin();
    await sleep(LEAD_IN_MS);
    try {
      flooded.push(await measured());
    } finally {
      await attacker.end(false);
    }
  }
  return { quiet: phases(quiet), flooded: phases(flooded) };
}

/** The valid tenant's figures, quiet against flooded, and what the receiver's CPU did. */
function floodFigures({ quiet, flooded }: { quiet: Phases; flooded: Phases }) {
  const q = quiet.summary;
  const f = flooded.summary;
  const pct = (ms: number, wallMs: number) => round((ms / wallMs) * 100, 0);
  return {
    validOfferedPerSec: VALID_RATE,
    validQuietPerSec: q.throughput,
    validFloodPerSec: f.throughput,
    throughputRatio: round(f.throughput / q.throughput, 3),
    validQuietP50Ms: q.p50,
    validFloodP50Ms: f.p50,
    p50Ratio: round(f.p50 / q.p50, 2),
    p50sQuiet: quiet.p50s.join('/'),
    p50sFlood: flooded.p50s.join('/'),
    validQuietP99Ms: q.p99,
    validFloodP99Ms: f.p99,
    p99Ratio: round(f.p99 / q.p99, 2),
    validErrorsUnderFlood: f.errors,
    receiverCpuQuietPct: pct(quiet.receiverCpuMs, quiet.wallMs),
    receiverCpuFloodPct: pct(flooded.receiverCpuMs, flooded.wallMs),
    validSenderCpuQuietPct: pct(quiet.testCpuMs, quiet.wallMs),
    validSenderCpuFloodPct: pct(flooded.testCpuMs, flooded.wallMs),
    machineBusyQuietPct: quiet.machineBusyPct,
    machineBusyFloodPct: flooded.machineBusyPct,
  };
}

describe('security', () => {
  test('verifyWebhook never throws, never accepts, and answers quickly, for every provider id and hostile input', async () => {
    const runs = scale(150, 3000);
    let slowest = 0;
    let calls = 0;
    const options = {
      secrets: ['whsec_fuzz-secret-0123456789', 'second-secret'],
      google: { audience: 'https://example.com/hook', serviceAccountEmail: 'push@example.iam', jwks: { keys: [] } },
      salesforceOrganizationId: '00D000000000001AAA',
    };
    for (const provider of PROVIDER_IDS) {
      await fc.assert(
        // A URL always: Twilio, HubSpot and others need it, and its absence is misuse (a TypeError by contract).
        fc.asyncProperty(headerMap, body, fc.webUrl({ withQueryParameters: true }), async (headers, raw, url) => {
          const started = performance.now();
          const result = await verifyWebhook(provider, { headers, body: raw, url, method: 'POST' }, options);
          const ms = performance.now() - started;
          slowest = Math.max(slowest, ms);
          calls++;
          expect(result.ok).toBe(false);
          expect(ms).toBeLessThan(1000);
        }),
        { numRuns: runs, seed: 20261128 },
      );
    }
    report('security: verifyWebhook fuzz', { providers: PROVIDER_IDS.length, calls, slowestMs: round(slowest, 1) });
  }, 180_000);

  // ---------------------------------------------------------------- fuzzing the receive route

  test('the receive route: malformed, duplicated, array-valued, oversized and non-UTF-8 headers and bodies get 4xx quickly, never 5xx or a crash', async () => {
    const registered: Array<{ provider: string; id: string }> = [{ provider: 'github', id: regA.registrationId }];
    for (const provider of PROVIDER_IDS.filter((p) => p !== 'github')) {
      const answer = await call('POST', `/integrations/${provider}/webhooks`, C.key, {
        connectionId: `fuzz-${provider}`,
        events: ['*'],
        webhookSecret: `whsec_fuzz-${provider}-0123456789abcdef`,
        providerOptions: {
          google: { audience: 'https://example.com/hook', serviceAccountEmail: 'push@example.iam', jwks: { keys: [] } },
          salesforceOrganizationId: '00D000000000001AAA',
        },
      });
      expect(answer.status, `${provider}: ${answer.text}`).toBe(201);
      registered.push({ provider, id: (answer.body as Registered).registrationId });
    }
    const port = receiver.options.port;
    const pid = receiver.pid;
    const cases: Array<[string, (path: string) => Buffer]> = [
      ['no signature', (p) => buildRequest(p, [['content-type', 'application/json']], Buffer.from('{}'))],
      [
        'duplicated signature headers',
        (p) =>
          buildRequest(
            p,
            SIGNATURE_HEADERS.flatMap(
              (h): Array<[string, string]> => [
                [h, 'sha256=00'],
                [h, 'v1=11,t=1'],
              ],
            ),
            Buffer.from('{"a":1}'),
          ),
      ],
      [
        'comma-joined (array-valued) signatures',
        (p) =>
          buildRequest(
            p,
            SIGNATURE_HEADERS.map((h): [string, string] => [h, 'a, b, c, sha256=00, v1=zz']),
            Buffer.from('{}'),
          ),
      ],
      [
        'non-UTF-8 header values',
        (p) =>
          buildRequest(
            p,
            SIGNATURE_HEADERS.map((h): [string, Buffer] => [h, Buffer.from([0x73, 0xff, 0xfe, 0x80, 0xc3, 0x28])]),
            Buffer.from('{}'),
          ),
      ],
      ['non-UTF-8 header name', (p) => buildRequest(p, [[Buffer.from([0x78, 0xff, 0x80]), 'v']], Buffer.from('{}'))],
      [
        'obs-fold header',
        (p) => buildRequest(p, [['x-hub-signature-256', 'sha256=00\r\n  folded']], Buffer.from('{}')),
      ],
      [
        'control characters',
        (p) => buildRequest(p, [['x-slack-signature', 'v0=\u0001\u0002\u0007']], Buffer.from('{}')),
      ],
      [
        'a 12 KB signature header',
        (p) =>
          buildRequest(
            p,
            SIGNATURE_HEADERS.map((h): [string, string] => [h, 'v'.repeat(12_000)]),
          ),
      ],
      [
        'headers over 64 KB in all',
        (p) => buildRequest(p, [['x-hub-signature-256', 'a'.repeat(70_000)]], Buffer.from('{}')),
      ],
      [
        '1000 headers',
        (p) =>
          buildRequest(
            p,
            Array.from({ length: 1000 }, (_, i): [string, string] => [`x-h${i}`, 'v']),
          ),
      ],
      [
        'non-UTF-8 body',
        (p) => buildRequest(p, [['content-type', 'application/json']], Buffer.from([0xff, 0xfe, 0xfd, 0xc3, 0x28])),
      ],
      [
        'body over the limit',
        (p) => buildRequest(p, [['content-type', 'application/json']], Buffer.alloc(MAX_BODY + 1, 0x61)),
      ],
      [
        'chunked body over the limit',
        (p) =>
          Buffer.concat([
            buildRequest(p, [['transfer-encoding', 'chunked']], Buffer.alloc(0), { contentLength: null }),
            Buffer.from(`${(MAX_BODY + 10).toString(16)}\r\n`),
            Buffer.alloc(MAX_BODY + 10, 0x62),
            Buffer.from('\r\n0\r\n\r\n'),
          ]),
      ],
      [
        'content-length and transfer-encoding',
        (p) => buildRequest(p, [['transfer-encoding', 'chunked']], Buffer.from('0\r\n\r\n')),
      ],
      ['bad content-length', (p) => buildRequest(p, [], Buffer.alloc(0), { contentLength: -1 })],
      [
        'deeply nested JSON',
        (p) => buildRequest(p, [['content-type', 'application/json']], Buffer.from('['.repeat(50_000))),
      ],
      [
        '__proto__ and constructor headers',
        (p) =>
          buildRequest(
            p,
            [
              ['__proto__', 'x'],
              ['constructor', 'y'],
              ['prototype', 'z'],
            ],
            Buffer.from('{}'),
          ),
      ],
    ];
    const paths = [
      ...registered.map((r) => ({ label: r.provider, path: `/webhooks/${r.id}` })),
      { label: 'unknown id', path: '/webhooks/wh_doesnotexist000000' },
      { label: 'hostile id', path: `/webhooks/${encodeURIComponent('../../etc/passwd%00\u00ff')}` },
    ];
    const statuses = new Map<string, number>();
    let slowest = 0;
    let sent = 0;
    for (const { label, path } of paths) {
      for (const [name, build] of cases) {
        const answer = await rawRequest(port, build(path));
        sent++;
        slowest = Math.max(slowest, answer.ms);
        statuses.set(String(answer.status), (statuses.get(String(answer.status)) ?? 0) + 1);
        answers.push({
          what: `fuzz ${label}: ${name}`,
          status: answer.status,
          text: answer.body,
          headers: answer.head,
        });
        expect([400, 401, 404, 413, 431], `${label}: ${name} -> ${answer.head}\n${answer.body}`).toContain(
          answer.status,
        );
        expect(answer.ms, `${label}: ${name}`).toBeLessThan(3000);
      }
    }
    // Random header maps and bodies through a real client too (node:http refuses to send some).
    let random = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...registered), headerMap, body, async (target, headers, raw) => {
        const clean: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(headers)) {
          if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) && k.toLowerCase() !== 'content-length') clean[k] = v;
        }
        let answer: Answer;
        try {
          answer = await send(`${receiver.url}/webhooks/${target.id}`, { headers: clean, body: raw, timeoutMs: 5000 });
        } catch (error) {
          const code = (error as { code?: string }).code;
          // The client refused the header (invalid characters): nothing reached the receiver.
          if (code === 'ERR_INVALID_CHAR') return;
          // Headers over Node's 16 KB limit: the server answers 431 and closes before reading the
          // rest, which the client sees as a reset (the raw cases above read the 431 itself).
          const size = Object.entries(clean).reduce((t, [k, v]) => t + k.length + String(v).length, 0);
          if ((code === 'ECONNRESET' || code === 'EPIPE') && size > 16 * 1024) return;
          throw error;
        }
        random++;
        keep(`random ${target.provider}`, answer);
        statuses.set(String(answer.status), (statuses.get(String(answer.status)) ?? 0) + 1);
        expect([400, 401, 413, 431], `${target.provider}: ${answer.text}`).toContain(answer.status);
      }),
      { numRuns: scale(300, 5000), seed: 424242 },
    );
    expect(receiver.running).toBe(true);
    expect(receiver.pid).toBe(pid);
    report('security: receive-route fuzz', {
      rawRequests: sent,
      randomRequests: random,
      statuses: [...statuses.entries()].map(([k, v]) => `${k}:${v}`).join(','),
      slowestRawMs: round(slowest, 1),
      crashes: 0,
    });
  }, 240_000);

  test('a declared Content-Length over the limit is answered 413 at once, without waiting for the body', async () => {
    // The body never comes: a server that waits for it holds the connection until its request timeout.
    const answer = await rawRequest(
      receiver.options.port,
      buildRequest(`/webhooks/${regA.registrationId}`, [['content-type', 'application/json']], Buffer.alloc(0), {
        contentLength: 100 * 1024 * 1024,
      }),
      5000,
    );
    answers.push({
      what: 'declared length over the limit',
      status: answer.status,
      text: answer.body,
      headers: answer.head,
    });
    report('security: declared Content-Length over the limit, body withheld', {
      status: answer.status,
      ms: round(answer.ms, 0),
    });
    expect(answer.status, 'no answer within 5 s').toBe(413);
    expect(answer.ms).toBeLessThan(3000);
  }, 30_000);

  // ---------------------------------------------------------------- the invalid-signature flood

  test.each([
    ['flood guard off (every junk request is verified)', false],
    ['flood guard at its default (1000 requests per registration per minute)', true],
  ])(
    'an invalid-signature flood on one registration vs another tenant: unbounded (closed loop, 32 connections), %s; ratios reported, not asserted',
    async (label, defaultGuard) => {
      const setup = await floodSetup(defaultGuard);
      const junkBody = JSON.stringify({ action: 'opened', issue: { id: 1, number: 1, title: 'junk' } });
      const junk: Shot[] = [];
      let stop = false;
      let running: Promise<Run> | undefined;
      let started = 0;
      let floodMs = 0;
      const result = await alternate(
        setup,
        {
          begin: () => {
            stop = false;
            started = performance.now();
            running = closedLoop({ concurrency: 32, stop: () => stop }, async () => {
              const at = performance.now();
              const id = randomUUID();
              let status = 0;
              try {
                const answer = await send(`${setup.target.url}/webhooks/${setup.junkTarget.registrationId}`, {
                  headers: {
                    'content-type': 'application/json',
                    'x-github-event': 'issues',
                    'x-github-delivery': id,
                    'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong').update(id).digest('hex')}`,
                  },
                  body: junkBody,
                  pool: 32,
                });
                status = answer.status;
              } catch {
                status = 0;
              }
              const shot = { deliveryId: id, status, ms: performance.now() - at, at };
              junk.push(shot);
              return shot;
            });
          },
          end: async (warmUp) => {
            stop = true;
            await running;
            if (warmUp) junk.length = 0;
            else floodMs += performance.now() - started;
          },
        },
        { rounds: 2, phaseMs: scale(1000, 10_000), warmUpMs: scale(1000, 5000) },
      );
      const junkStatuses = [...new Set(junk.map((s) => s.status))].sort();
      report(`security: unbounded invalid-signature flood vs a valid tenant, ${label}`, {
        ...floodFigures(result),
        junkRequests: junk.length,
        junkPerSec: round((junk.length / floodMs) * 1000, 0),
        junkStatuses: junkStatuses.join('/'),
      });
      // Only what holds on any machine: every junk request refused as junk, every valid one
      // acknowledged. The ratios are reported, not asserted: the flood is unbounded (closed loop, 32
      // connections) and its generator shares the cores with the receiver, so the receiver is
      // CPU-bound for the duration and the ratios measure the machine (see RELIABILITY.md).
      expect(junk.length).toBeGreaterThan(100);
      expect(junkStatuses.every((s) => s === 401 || (defaultGuard && s === 429))).toBe(true);
      expect(result.quiet.summary.errors).toBe(0);
      expect(result.flooded.summary.errors).toBe(0);
      await setup.target.stop();
    },
    120_000,
  );

  test(
    `a bounded invalid-signature flood (open loop, ${BOUNDED_JUNK_RATE}/s from a process of its own) on tenant B's registration vs tenant A at ${VALID_RATE}/s: throughput kept, p50 within 20%`,
    async () => {
      // Flood guard off: every junk request is looked up, verified, diagnosed and counted (the most a
      // junk request costs; with the guard on, all but the first 1000 a minute stop at a 429).
      const setup = await floodSetup(false);
      // The control experiment (RELIABILITY_FLOOD_DECOY=1): the same flood on another receiver process
      // on the same machine, so that only the machine is shared with tenant A, not the event loop.
      const decoy = FLOOD_DECOY ? await floodSetup(false) : setup;
      const flood = await JunkFlood.start(`${decoy.target.url}/webhooks/${decoy.junkTarget.registrationId}`);
      const phases: FloodPhase[] = [];
      let attackerCpuMs = 0;
      let attackerCpuAt = 0;
      const result = await alternate(
        setup,
        {
          begin: () => {
            attackerCpuAt = flood.cpuMs();
            flood.begin(BOUNDED_JUNK_RATE);
          },
          end: async (warmUp) => {
            const phase = await flood.end();
            if (warmUp) return;
            phases.push(phase);
            attackerCpuMs += flood.cpuMs() - attackerCpuAt;
          },
        },
        { rounds: scale(3, 6), phaseMs: scale(1500, 10_000), warmUpMs: scale(2000, 5000) },
      );
      await flood.close();
      const sent = phases.reduce((t, p) => t + p.requests, 0);
      const skipped = phases.reduce((t, p) => t + p.skipped, 0);
      const sendingMs = phases.reduce((t, p) => t + p.sendingMs, 0);
      const statuses: Record<string, number> = {};
      for (const phase of phases) {
        for (const [status, count] of Object.entries(phase.statuses))
          statuses[status] = (statuses[status] ?? 0) + count;
      }
      const junkPerSec = round((sent / sendingMs) * 1000, 0);
      const figures = floodFigures(result);
      // What one junk request costs the receiver: its extra CPU under the flood, per junk request.
      const extraCpuMsPerSec =
        (result.flooded.receiverCpuMs / result.flooded.wallMs - result.quiet.receiverCpuMs / result.quiet.wallMs) *
        1000;
      // The ratios say something about the receiver only if nothing else (another test file in CI, a
      // benchmark) kept the cores busy: here the quiet phases take 15-20% of the machine and the
      // flooded ones 36-40%. Otherwise they measure the neighbours, and are reported, not asserted.
      // (A receiver that cannot keep up with the junk any more takes one core, 60-70% of the machine
      // with the attacker, and is still asserted, and caught.)
      const roomy = result.quiet.machineBusyPct <= 30 && result.flooded.machineBusyPct <= 75;
      report(
        `security: bounded invalid-signature flood (${BOUNDED_JUNK_RATE}/s) ${FLOOD_DECOY ? 'on another receiver process (control)' : 'on the same receiver'} vs a valid tenant, flood guard off`,
        {
          ...figures,
          junkOfferedPerSec: BOUNDED_JUNK_RATE,
          junkPerSec,
          junkRequests: sent,
          junkSkipped: skipped,
          junkStatuses: Object.entries(statuses)
            .map(([k, v]) => `${k}:${v}`)
            .join(','),
          junkP50sMs: phases.map((p) => p.p50).join('/'),
          junkP99sMs: phases.map((p) => p.p99).join('/'),
          ...(FLOOD_DECOY ? {} : { receiverCpuUsPerJunk: round((extraCpuMsPerSec * 1000) / junkPerSec, 0) }),
          attackerCpuPct: round((attackerCpuMs / sendingMs) * 100, 0),
          ratiosAsserted: roomy,
        },
      );
      expect(Object.keys(statuses)).toEqual(['401']);
      expect(sent).toBeGreaterThan(BOUNDED_JUNK_RATE);
      expect(result.quiet.summary.errors).toBe(0);
      expect(result.flooded.summary.errors).toBe(0);
      if (roomy) {
        // Stable over every run on this 2-core machine (0.98-1.0): the valid tenant keeps its rate.
        expect(figures.throughputRatio).toBeGreaterThanOrEqual(0.95);
        // The goal: the flood slows the valid tenant by no more than 20%. Its p50 ratio is 0.89-1.00
        // here since the receive route left Express (a junk request costs 160-190 µs of the receiver
        // against 440-600 µs before). The control (the flood at another process) shares the machine
        // but not the receiver: only the tripwire there.
        expect(figures.p50Ratio).toBeLessThanOrEqual(FLOOD_DECOY ? 3 : 1.2);
      } else {
        console.warn(
          `[reliability] bounded flood: ratios not asserted (machine busy ${result.quiet.machineBusyPct}% quiet, ` +
            `${result.flooded.machineBusyPct}% flooded; junk ${junkPerSec}/s of ${BOUNDED_JUNK_RATE}, ${skipped} skipped)`,
        );
      }
      await setup.target.stop();
      if (decoy !== setup) await decoy.target.stop();
    },
    // The long form: 6 rounds of two 10 s phases and a warm-up, past 120 s.
    scale(120_000, 300_000),
  );

  // ---------------------------------------------------------------- tenant isolation

  test("tenant isolation: tenant A's key on each of tenant B's routes gets 404; list routes never show B's data", async () => {
    const openapi = (await call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const bearerRoutes = Object.entries(openapi.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => Array.isArray(op.security) && op.security.length > 0)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    const idB = regB.registrationId;
    // [route as in /openapi.json, method, concrete path, body]
    const onB: Array<[string, string, string, unknown?]> = [
      ['GET /webhooks/{registrationId}', 'GET', `/webhooks/${idB}`],
      ['GET /webhooks/{registrationId}/health', 'GET', `/webhooks/${idB}/health`],
      ['GET /webhooks/{registrationId}/deliveries', 'GET', `/webhooks/${idB}/deliveries?limit=50`],
      ['POST /webhooks/{registrationId}/rotate-secret', 'POST', `/webhooks/${idB}/rotate-secret`, {}],
      [
        'POST /webhooks/{registrationId}/rotate-secret',
        'POST',
        `/webhooks/${idB}/rotate-secret`,
        { webhookSecret: 'whsec_attacker-chosen-secret-000000' },
      ],
      [
        'POST /webhooks/{registrationId}/deliveries/{deliveryId}/replay',
        'POST',
        `/webhooks/${idB}/deliveries/${bDeliveryId}/replay`,
      ],
      // B's delivery under A's own registration.
      [
        'POST /webhooks/{registrationId}/deliveries/{deliveryId}/replay',
        'POST',
        `/webhooks/${regA.registrationId}/deliveries/${bDeliveryId}/replay`,
      ],
      ['DELETE /api-keys/{keyId}', 'DELETE', `/api-keys/${bKeyId}`],
      ['DELETE /webhooks/{registrationId}', 'DELETE', `/webhooks/${idB}`],
    ];
    const lists: Array<[string, string]> = [
      ['GET /webhooks', '/webhooks'],
      ['GET /webhooks', `/webhooks?integrationId=github&connectionId=conn-b-private`],
      ['GET /webhooks/unhealthy', '/webhooks/unhealthy'],
      ['GET /sync-tasks', '/sync-tasks?limit=1000'],
      ['GET /sync-tasks', '/sync-tasks?integrationId=github&status=pending'],
      ['GET /api-keys', '/api-keys'],
      ['GET /stats', '/stats'],
    ];
    // Creating is the one bearer route with no B resource to point at: it always acts for the caller.
    const covered = new Set([
      ...onB.map((r) => r[0]),
      ...lists.map((r) => r[0]),
      'POST /integrations/{integrationId}/webhooks',
      'POST /api-keys',
    ]);
    expect(
      bearerRoutes.filter((r) => !covered.has(r)),
      'bearer routes missing from the isolation matrix',
    ).toEqual([]);

    const bSecrets = [regB.webhookSecret];
    const leaks: string[] = [];
    for (const [route, method, path, body] of onB) {
      const answer = await call(method, path, A.key, body);
      if (answer.status !== 404) leaks.push(`${route} (${path}) -> ${answer.status} ${answer.text.slice(0, 200)}`);
      if (answer.text.includes(idB) || answer.text.includes('conn-b-private')) leaks.push(`${route} names B's data`);
    }
    for (const [route, path] of lists) {
      const answer = await call('GET', path, A.key);
      expect(answer.status, `${route}: ${answer.text}`).toBe(200);
      for (const marker of [idB, 'conn-b-private', B.tenantId, bKeyId, bDeliveryId, ...bSecrets]) {
        if (answer.text.includes(marker)) leaks.push(`${route} (${path}) shows B's ${marker}`);
      }
    }
    expect(leaks).toEqual([]);
    // B is untouched: its registration, its key, its old secret all still work.
    expect((await call('GET', `/webhooks/${idB}`, B.key)).status).toBe(200);
    expect((await sendGitHub(receiver.url, regB, 2)).status).toBe(200);
    const keys = (await call('GET', '/api-keys', B.key)).body as {
      keys: Array<{ id: string; revokedAt: string | null }>;
    };
    expect(keys.keys.find((k) => k.id === bKeyId)?.revokedAt).toBeNull();
    report('security: tenant isolation', {
      bearerRoutes: bearerRoutes.length,
      probes: onB.length + lists.length,
      leaks: leaks.length,
    });
  }, 60_000);

  // ---------------------------------------------------------------- prototype pollution

  test('prototype-pollution payloads change nothing and never answer 5xx', async () => {
    const pollution = {
      __proto__: { polluted: 'yes', webhookSecret: 'attacker-secret', isVerified: true, tenantId: 'tenant-b' },
      constructor: { prototype: { polluted: 'yes' } },
    };
    const text = (extra: Record<string, unknown>) =>
      JSON.stringify(extra).replace('"__pp__":1', JSON.stringify(pollution).slice(1, -1));
    const probes: Answer[] = [];
    probes.push(
      await call(
        'POST',
        '/integrations/github/webhooks',
        A.key,
        text({
          connectionId: 'conn-pp',
          events: ['*'],
          metadata: { __pp__: 1 },
          providerOptions: { __pp__: 1 },
          __pp__: 1,
        }),
      ),
    );
    probes.push(await call('POST', `/webhooks/${regA.registrationId}/rotate-secret`, A.key, text({ __pp__: 1 }), true));
    probes.push(await call('POST', '/api-keys', A.key, text({ name: 'pp', __pp__: 1 })));
    probes.push(await call('GET', '/webhooks?__proto__[polluted]=yes&constructor[prototype][polluted]=yes', A.key));
    probes.push(await call('GET', '/sync-tasks?__proto__=x&integrationId[__proto__]=y', A.key));
    // A signed delivery whose payload pollutes (it must verify, parse or be refused as 400, nothing else).
    const rotated = probes[1]!.body as { webhookSecret: string };
    const payload = text({ action: 'opened', issue: { id: 9, number: 9, title: 'pp', __pp__: 1 }, __pp__: 1 });
    const signature = createHmac('sha256', rotated.webhookSecret).update(payload).digest('hex');
    probes.push(
      keep(
        'POST pp delivery',
        await send(`${receiver.url}/webhooks/${regA.registrationId}`, {
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'issues',
            'x-github-delivery': randomUUID(),
            'x-hub-signature-256': `sha256=${signature}`,
          },
          body: payload,
        }),
      ),
    );
    for (const probe of probes) expect(probe.status, probe.text).toBeLessThan(500);

    // Nothing leaked onto Object.prototype: a fresh registration is generated as always.
    const fresh = await call(
      'POST',
      '/integrations/github/webhooks',
      A.key,
      { connectionId: 'conn-after', events: ['*'] },
      true,
    );
    expect(fresh.status).toBe(201);
    const registration = fresh.body as Registered & Record<string, unknown>;
    expect(registration.webhookSecret).toMatch(/^whsec_/);
    expect(registration).not.toHaveProperty('polluted');
    const view = await call('GET', `/webhooks/${registration.registrationId}`, A.key);
    expect(view.text).not.toContain('polluted');
    expect(view.text).not.toContain('attacker-secret');
    expect((view.body as { tenantId: string }).tenantId).toBe(A.tenantId);
    expect((view.body as { isVerified: boolean }).isVerified).toBe(false);
    const list = await call('GET', '/webhooks', A.key);
    for (const webhook of (list.body as { webhooks: Array<Record<string, unknown>> }).webhooks) {
      expect(Object.hasOwn(webhook, 'polluted')).toBe(false);
    }
    // The rotation installed a generated secret (the body's __proto__ offered none): put the canary back.
    const back = await call(
      'POST',
      `/webhooks/${regA.registrationId}/rotate-secret`,
      A.key,
      { webhookSecret: CANARY_ROTATED_SECRET },
      true,
    );
    expect(back.status).toBe(200);
    expect((await sendGitHub(receiver.url, { ...regA, webhookSecret: CANARY_ROTATED_SECRET }, 77)).status).toBe(200);
    report('security: prototype pollution', { probes: probes.length, statuses: probes.map((p) => p.status).join(',') });
  }, 60_000);

  // ---------------------------------------------------------------- canaries and stack traces (last)

  test('canary secrets appear in no log line and no answer (except the answers that must return the secret)', async () => {
    // Exercise the rest of the surface while logging at debug with WEBHOOK_DEBUG=true.
    const bad = await sendGitHub(receiver.url, { ...regA, webhookSecret: 'wrong' }, 5);
    expect(bad.status).toBe(401);
    for (const path of [
      `/webhooks/${regA.registrationId}`,
      `/webhooks/${regA.registrationId}/health`,
      `/webhooks/${regA.registrationId}/deliveries?limit=500`,
      '/webhooks',
      '/webhooks/unhealthy',
      '/sync-tasks?limit=1000',
      '/api-keys',
      '/stats',
    ]) {
      expect((await call('GET', path, A.key)).status).toBe(200);
    }
    for (const path of ['/webhooks/health', '/healthz', '/readyz', '/metrics', '/openapi.json', '/admin/'])
      await call('GET', path);
    await call('GET', '/webhooks', 'not-a-key-but-long-enough');
    await call('GET', '/webhooks', `${CANARY_API_KEY}x`);
    const deliveries = (await call('GET', `/webhooks/${regA.registrationId}/deliveries?limit=5`, A.key)).body as {
      deliveries: Array<{ id: string }>;
    };
    const first = deliveries.deliveries[0];
    if (first) await call('POST', `/webhooks/${regA.registrationId}/deliveries/${first.id}/replay`, A.key);
    await sleep(500);

    const hits: string[] = [];
    const logs = receiver.log.text();
    for (const [name, canary] of Object.entries(CANARIES)) {
      if (logs.includes(canary)) hits.push(`log contains ${name}`);
      for (const answer of answers) {
        if (answer.secretExpected) continue;
        if (answer.text.includes(canary) || answer.headers.includes(canary))
          hits.push(`${answer.what} answer contains ${name}`);
      }
    }
    // The answers that must return the secret do return it (so the grep would see it if it leaked elsewhere).
    expect(answers.some((a) => a.secretExpected && a.text.includes(CANARY_WEBHOOK_SECRET))).toBe(true);
    expect(logs).toContain('"level":20');
    report('security: canary secrets', { logBytes: logs.length, answers: answers.length, hits: hits.length });
    expect(hits).toEqual([]);
  }, 60_000);

  test('no stack trace, file path or internal error text in any error answer', () => {
    const trace = [
      /\n\s+at\s/,
      /\bat [\w$.<>]+ \(/,
      /\.(?:js|ts|mjs|cjs):\d+/,
      /node_modules/,
      /\/work\/|\/home\/|\/usr\/lib\//,
    ];
    const offenders = answers
      .filter((a) => a.status >= 400 && trace.some((pattern) => pattern.test(a.text)))
      .map((a) => `${a.what} -> ${a.status}: ${a.text.slice(0, 300)}`);
    report('security: stack traces in error answers', {
      errorAnswers: answers.filter((a) => a.status >= 400).length,
      withTrace: offenders.length,
    });
    expect(offenders).toEqual([]);
    expect(answers.filter((a) => a.status >= 500).map((a) => `${a.what} -> ${a.status}`)).toEqual([]);
  });
});
