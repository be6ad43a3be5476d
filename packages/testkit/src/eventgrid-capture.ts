import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface EventGridCaptureOptions {
  /** The topic key; a request whose `aeg-sas-key` differs gets 401. */
  key: string;
  port?: number;
}

export type CapturedSchema = 'CloudEvent' | 'EventGrid';

/** One HTTP request as it arrived, whether it was accepted or not. */
export interface CapturedRequest {
  method: string;
  /** Path and query, e.g. `/api/events?api-version=2018-01-01`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes of the body, for "no secret anywhere" checks. */
  rawBody: Buffer;
  /** The status the capture answered with. */
  status: number;
  schema?: CapturedSchema;
}

/** One event of an accepted request, with the schema its batch was sent in. */
export interface CapturedEvent {
  schema: CapturedSchema;
  event: Record<string, unknown>;
}

export interface EventGridCapture {
  /** `http://127.0.0.1:PORT/api/events`, to give to EventGridPublisherClient. */
  endpoint: string;
  /** Every request, accepted or not, oldest first. */
  requests: CapturedRequest[];
  /** The events of accepted requests, oldest first. */
  events: CapturedEvent[];
  /** Answers the next `count` well-formed requests with `status` (default 503) instead of 200. */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

/**
 * TEST FIXTURE: a local stand-in for an Event Grid topic endpoint. It accepts
 * `POST /api/events?api-version=...`, requires the `aeg-sas-key` header (401 otherwise), checks the
 * content type against the body (a CloudEvents batch as `application/cloudevents-batch+json`, an
 * Event Grid schema array as `application/json`), checks each event's required fields (400
 * otherwise) and keeps what it got. It does not route or deliver events anywhere.
 */
export async function startEventGridCapture(options: EventGridCaptureOptions): Promise<EventGridCapture> {
  const requests: CapturedRequest[] = [];
  const events: CapturedEvent[] = [];
  const failures: number[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const captured: CapturedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: { ...req.headers },
        rawBody,
        status: 0,
      };
      requests.push(captured);
      const verdict = judge(req, rawBody, options.key);
      if ('schema' in verdict) captured.schema = verdict.schema;
      if ('error' in verdict) {
        reply(res, captured, verdict.status, { error: { code: verdict.code, message: verdict.error } });
        return;
      }
      const failure = failures.shift();
      if (failure !== undefined) {
        reply(res, captured, failure, { error: { code: 'ServiceUnavailable', message: 'Simulated failure' } });
        return;
      }
      for (const event of verdict.events) events.push({ schema: verdict.schema, event });
      reply(res, captured, 200, undefined);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/api/events`,
    requests,
    events,
    failNext(count: number, status = 503): void {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

type Verdict =
  | { schema: CapturedSchema; events: Record<string, unknown>[] }
  | { status: number; code: string; error: string; schema?: CapturedSchema };

function judge(req: IncomingMessage, rawBody: Buffer, key: string): Verdict {
  const url = new URL(req.url ?? '/', 'http://capture');
  if (req.method !== 'POST' || url.pathname !== '/api/events') {
    return { status: 404, code: 'NotFound', error: 'Only POST /api/events is served' };
  }
  if (!url.searchParams.get('api-version')) {
    return { status: 400, code: 'BadRequest', error: 'The api-version query parameter is required' };
  }
  if (req.headers['aeg-sas-key'] !== key) {
    return { status: 401, code: 'Unauthorized', error: 'The request authorization key is not authorized' };
  }
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  const schema: CapturedSchema | undefined = contentType.startsWith('application/cloudevents-batch+json')
    ? 'CloudEvent'
    : contentType.startsWith('application/json')
      ? 'EventGrid'
      : undefined;
  if (!schema) return { status: 415, code: 'UnsupportedMediaType', error: `Unsupported content type ${contentType}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { status: 400, code: 'BadRequest', error: 'The body is not JSON', schema };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return { status: 400, code: 'BadRequest', error: 'The body must be a non-empty array of events', schema };
  }
  const required =
    schema === 'CloudEvent'
      ? ['id', 'source', 'type', 'specversion']
      : ['id', 'subject', 'eventType', 'eventTime', 'dataVersion', 'data'];
  for (const [i, event] of parsed.entries()) {
    if (typeof event !== 'object' || event === null) {
      return { status: 400, code: 'BadRequest', error: `Event ${i} is not an object`, schema };
    }
    const missing = required.filter((field) => !(field in event));
    if (missing.length > 0) {
      return { status: 400, code: 'BadRequest', error: `Event ${i} lacks ${missing.join(', ')}`, schema };
    }
    if (schema === 'CloudEvent' && (event as { specversion?: unknown }).specversion !== '1.0') {
      return { status: 400, code: 'BadRequest', error: `Event ${i} is not CloudEvents 1.0`, schema };
    }
  }
  return { schema, events: parsed as Record<string, unknown>[] };
}

function reply(res: ServerResponse, captured: CapturedRequest, status: number, body: unknown): void {
  captured.status = status;
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
