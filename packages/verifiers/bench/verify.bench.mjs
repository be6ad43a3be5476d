// Verifying a 1 KB request: ours against a bare createHmac + timingSafeEqual loop doing the same
// work (the ceiling) and against each provider's own library, in one process and one run.
// Run with `pnpm bench` (builds first). Figures are ratios; absolute numbers depend on the machine.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { signGitHub, signSlack, signStandardWebhooks, signStripe, verifyWebhook } from '../dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);

function makeBody(size) {
  const filler = 'x'.repeat(size);
  const json = JSON.stringify({
    action: 'opened',
    issue: { id: 1234567, number: 123, title: 'Bug', body: '' },
    pad: '',
  });
  return Buffer.from(json.replace('"pad":""', `"pad":"${filler.slice(0, size - json.length)}"`));
}

const body = makeBody(1024);
const bodyText = body.toString('utf8');
const now = Math.floor(Date.now() / 1000);

/** Operations per second of one timed round (async functions are awaited). */
async function round(fn) {
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let t = start;
  while (t < deadline) {
    for (let i = 0; i < 200; i++) await fn();
    ops += 200;
    t = process.hrtime.bigint();
  }
  return ops / (Number(t - start) / 1e9);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Median ops/s of each variant. Rounds are interleaved (A, B, C, A, B, C, ...) so that a change in
 * the machine's load hits every variant alike: the ratios are what this reports.
 */
async function measureAll(variants) {
  for (const fn of variants) for (let i = 0; i < 2000; i++) await fn();
  const rates = variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let v = 0; v < variants.length; v++) rates[v].push(await round(variants[v]));
  }
  return rates.map(median);
}

function check(value) {
  if (value !== true) throw new Error('a benchmark variant failed to verify');
}

function bareHex(secret, signed, expectedHex) {
  const mac = createHmac('sha256', secret);
  for (const part of signed) mac.update(part);
  const digest = mac.digest();
  const given = Buffer.from(expectedHex, 'hex');
  return given.length === digest.length && timingSafeEqual(digest, given);
}

const cases = [];

{
  const secret = 'It is a Secret to Everybody';
  const headers = signGitHub({ body, secret });
  const signature = headers['x-hub-signature-256'];
  cases.push({
    provider: 'github',
    ours: async () => check((await verifyWebhook('github', { headers, body }, { secrets: [secret] })).ok),
    bare: () => check(bareHex(secret, [body], signature.slice(7))),
    library: ['@octokit/webhooks-methods verify', async () => check(await octokitVerify(secret, bodyText, signature))],
  });
}

{
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const headers = signSlack({ body, secret, timestamp: now });
  const signature = headers['x-slack-signature'];
  cases.push({
    provider: 'slack',
    ours: async () => check((await verifyWebhook('slack', { headers, body }, { secrets: [secret] })).ok),
    bare: () => check(bareHex(secret, [`v0:${now}:`, body], signature.slice(3))),
  });
}

{
  const secret = 'whsec_test_secret';
  const headers = signStripe({ body, secret, timestamp: now });
  const header = headers['stripe-signature'];
  const stripe = new Stripe('sk_test_unused');
  cases.push({
    provider: 'stripe',
    ours: async () => check((await verifyWebhook('stripe', { headers, body }, { secrets: [secret] })).ok),
    bare: () => check(bareHex(secret, [`${now}.`, body], header.split('v1=')[1])),
    // verifyHeader checks the signature only (constructEvent would also JSON.parse the body).
    library: [
      'stripe webhooks.signature.verifyHeader',
      () => check(stripe.webhooks.signature.verifyHeader(body, header, secret, 300)),
    ],
  });
}

{
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const headers = signStandardWebhooks({ body, secret, id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: now });
  const key = Buffer.from(secret.slice(6), 'base64');
  const signed = [`${headers['webhook-id']}.${now}.`, body];
  const given = Buffer.from(headers['webhook-signature'].slice(3), 'base64');
  const wh = new Webhook(secret);
  cases.push({
    provider: 'standard-webhooks',
    ours: async () => check((await verifyWebhook('standard-webhooks', { headers, body }, { secrets: [secret] })).ok),
    bare: () => {
      const mac = createHmac('sha256', key);
      for (const part of signed) mac.update(part);
      const digest = mac.digest();
      check(digest.length === given.length && timingSafeEqual(digest, given));
    },
    // The library wants the body as a string and parses the JSON after verifying.
    library: ['standardwebhooks Webhook.verify', () => check(typeof wh.verify(bodyText, headers) === 'object')],
  });
}

const rows = [];
for (const c of cases) {
  const [bare, ours, library] = await measureAll([c.bare, c.ours, ...(c.library ? [c.library[1]] : [])]);
  rows.push({ provider: c.provider, ours, bare, library, libraryName: c.library?.[0] });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `\nverifyWebhook on a ${body.length}-byte body, Node ${process.version}, median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms\n`,
);
console.log(
  '| provider | ours (ops/s) | bare createHmac loop (ops/s) | ours / bare | library | library (ops/s) | ours / library |',
);
console.log('|---|---:|---:|---:|---|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.provider} | ${fmt(r.ours)} | ${fmt(r.bare)} | ${(r.ours / r.bare).toFixed(2)}x | ${r.libraryName ?? '-'} | ${
      r.library ? fmt(r.library) : '-'
    } | ${r.library ? `${(r.ours / r.library).toFixed(2)}x` : '-'} |`,
  );
}
