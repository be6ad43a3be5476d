import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { signGitHub } from '@webhooks/verifiers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './test-support.js';

// The receive route runs on Node's request and response, outside Express (receive.ts); these tests
// hold it to what the Express app gives every other route, over real HTTP.

let server: TestServer;
let registration: { registrationId: string; webhookSecret: string };
beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 64 * 1024 });
  const created = await fetch(`${server.url}/integrations/github/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.keys.a}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connectionId: 'conn-1', events: ['issue.*'] }),
  });
  registration = (await created.json()) as typeof registration;
});
afterAll(async () => {
  await server.close();
});

function delivery(id = crypto.randomUUID()): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ action: 'opened', issue: { number: 7, id: 77, title: 'Bug' } });
  return {
    body,
    headers: {
      ...signGitHub({ body, secret: registration.webhookSecret, deliveryId: id, event: 'issues' }),
      'content-type': 'application/json',
    },
  };
}

/** POSTs to the test registration's webhook URL. */
function post(init: { headers: Record<string, string>; body: string | Uint8Array }): Promise<Response> {
  return fetch(`${server.url}/webhooks/${registration.registrationId}`, { method: 'POST', ...init });
}

/** Log lines as objects, from the test server's captured pino output. */
function logLines(): Array<Record<string, unknown>> {
  return server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the receive route', () => {
  it('answers with the headers every route carries, and the request id it was given', async () => {
    const { body, headers } = delivery();
    const answer = await post({
      headers: { ...headers, 'x-request-id': 'req-given.1' },
      body,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-request-id')).toBe('req-given.1');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('x-powered-by')).toBeNull();
    expect(await answer.json()).toMatchObject({ success: true, syncTriggered: true, duplicate: false });
  });

  it('makes up a request id when the given one is not a plain token', async () => {
    const answer = await fetch(`${server.url}/webhooks/wh_unknown`, {
      method: 'POST',
      headers: { 'x-request-id': 'bad id with spaces' },
      body: '{}',
    });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request with its id, path without the query, status and level', async () => {
    const unknown = await fetch(`${server.url}/webhooks/wh_missing?token=abc`, {
      method: 'POST',
      headers: { 'x-request-id': 'req-logged-404' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    const bad = delivery();
    const refused = await post({
      headers: { ...bad.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`, 'x-request-id': 'req-logged-401' },
      body: bad.body,
    });
    expect(refused.status).toBe(401);
    // The line is written when the answer has gone out.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = logLines().filter((l) => l.msg === 'request completed');
    const notFound = lines.find((l) => (l.req as { id: string }).id === 'req-logged-404');
    expect(notFound).toMatchObject({
      level: 30,
      req: { method: 'POST', path: '/webhooks/wh_missing' },
      res: { statusCode: 404 },
    });
    expect(typeof notFound?.responseTime).toBe('number');
    // A bad signature is what a flood is made of: debug, so junk cannot fill the logs.
    expect(lines.find((l) => (l.req as { id: string }).id === 'req-logged-401')).toMatchObject({
      level: 20,
      res: { statusCode: 401 },
    });
    expect(server.logs.join('\n')).not.toContain('token=abc');
  });

  it('takes the spellings Express also routes (trailing slash, other case) through the same route', async () => {
    for (const path of [`/webhooks/${registration.registrationId}/`, `/WEBHOOKS/${registration.registrationId}`]) {
      const { body, headers } = delivery();
      const answer = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(await answer.json()).toMatchObject({ success: true, duplicate: false });
    }
  });

  it('answers 400, not 500, to an id that is not valid percent-encoding', async () => {
    const answer = await fetch(`${server.url}/webhooks/%E0%A4%A`, { method: 'POST', body: '{}' });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ code: 'invalid_request' });
  });

  it('inflates a gzip body and verifies the signature over the bytes inside', async () => {
    const { body, headers } = delivery();
    const answer = await post({
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ success: true });
  });

  it('answers 415 to an encoding it cannot read, and 400 to a gzip body that is not gzip', async () => {
    const { body, headers } = delivery();
    const unknown = await post({
      headers: { ...headers, 'content-encoding': 'zstd-ish' },
      body,
    });
    expect(unknown.status).toBe(415);
    expect(await unknown.json()).toMatchObject({ code: 'unsupported_encoding' });
    const broken = await post({
      headers: { ...headers, 'content-encoding': 'gzip' },
      body,
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ code: 'invalid_request' });
  });

  it('answers 413 to a body without a length that streams past the limit, and to a gzip bomb', async () => {
    const { port } = new URL(server.url);
    const streamed = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: `/webhooks/${registration.registrationId}` },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
        },
      );
      req.on('error', reject);
      // Chunked: no Content-Length to refuse up front; 128 KB against a 64 KB limit.
      for (let i = 0; i < 32; i++) req.write('x'.repeat(4096));
      req.end();
    });
    expect(streamed).toEqual({ status: 413, connection: 'close' });

    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const inflated = await post({
      headers: { ...delivery().headers, 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(inflated.status).toBe(413);
  });

  it('answers a handshake with its own body and content type', async () => {
    const graph = await fetch(`${server.url}/integrations/msgraph/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.a}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connectionId: 'conn-1', events: ['*'] }),
    });
    expect(graph.status).toBe(201);
    const { registrationId } = (await graph.json()) as { registrationId: string };
    const answer = await fetch(`${server.url}/webhooks/${registrationId}?validationToken=Validation%3A%20abc`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await answer.text()).toBe('Validation: abc');
  });
});
