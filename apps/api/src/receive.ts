import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProcessOutcome, WebhookManagementService } from '@webhooks/service';
import type { Logger } from 'pino';
import type { ReceiverMetrics } from './metrics.js';
import { readBody } from './raw-body.js';
import { startRequestLog } from './request-log.js';

export interface ReceiveOptions {
  service: WebhookManagementService;
  metrics: ReceiverMetrics;
  logger: Logger;
  publicBaseUrl: string;
  maxBodyBytes: number;
}

/** Handles `POST /webhooks/:registrationId` for the id given (already taken from the path). */
export type ReceiveRoute = (req: IncomingMessage, res: ServerResponse, registrationId: string) => void;

/** Headers every answer carries, the receive route's and the Express app's. */
export const EVERY_ANSWER: ReadonlyArray<readonly [string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['cache-control', 'no-store'],
];
const ALWAYS = EVERY_ANSWER.flat();
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The receive route, on Node's own request and response: it is the busy route, and it needs nothing
 * Express adds (the admin routes keep Express). It reads top to bottom: start the request's log,
 * read the raw bytes, hand them to the service (which verifies, parses, dedupes, stores, enqueues
 * and counts), record the metrics, answer.
 */
export function createReceiveRoute(options: ReceiveOptions): ReceiveRoute {
  const { service, metrics, logger, publicBaseUrl, maxBodyBytes } = options;

  const receive = async (req: IncomingMessage, res: ServerResponse, registrationId: string): Promise<void> => {
    const requestId = startRequestLog(logger, req, res);
    const headers: string[] = ['x-request-id', requestId, ...ALWAYS];

    const read = await readBody(req, maxBodyBytes);
    if (!read.ok) {
      if (read.close) headers.push('connection', 'close');
      answer(res, read.status, headers, JSON_TYPE, JSON.stringify({ error: read.error, code: read.code }));
      return;
    }

    const started = process.hrtime.bigint();
    const result = await service.processWebhookEvent(registrationId, req.headers, read.body, {
      url: publicUrl(publicBaseUrl, registrationId, req.url ?? ''),
      method: 'POST',
    });
    record(metrics, result, started);

    if (result.rateLimit) {
      headers.push('ratelimit-limit', String(result.rateLimit.limit));
      headers.push('ratelimit-remaining', String(result.rateLimit.remaining));
    }
    if (result.retryAfterSeconds !== undefined) headers.push('retry-after', String(result.retryAfterSeconds));
    if (result.response) {
      answer(res, result.status, headers, withCharset(result.response.contentType), result.response.body);
      return;
    }
    answer(res, result.status, headers, JSON_TYPE, JSON.stringify(receiveAnswer(result)));
  };

  return (req, res, registrationId) => {
    // The service never throws; this is for a bug anywhere else on the way (never a stack trace out).
    receive(req, res, registrationId).catch((error: unknown) => {
      logger.error({ err: error }, 'receive failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      answer(res, 500, [...ALWAYS], JSON_TYPE, JSON.stringify({ error: 'Internal error', code: 'internal' }));
    });
  };
}

/**
 * The registration id of a `POST /webhooks/<id>` in its plain form (one segment, no trailing
 * slash), or null for anything else, which goes to the Express app (where the same route is
 * registered for the forms Express also accepts). A segment that is not valid percent-encoding is
 * left to Express too, which answers 400.
 */
export function receivePathId(req: IncomingMessage): string | null {
  if (req.method !== 'POST') return null;
  const url = req.url;
  if (url === undefined || !url.startsWith('/webhooks/')) return null;
  const query = url.indexOf('?');
  const segment = url.slice('/webhooks/'.length, query >= 0 ? query : url.length);
  if (segment.length === 0 || segment.includes('/')) return null;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The part of a ProcessOutcome a provider sees (the spec's WebhookProcessResult and a few more). */
export function receiveAnswer(result: ProcessOutcome): Record<string, unknown> {
  const answer: Record<string, unknown> = { success: result.success };
  if (result.error !== undefined) answer.error = result.error;
  if (result.code !== undefined) answer.code = result.code;
  if (result.reason !== undefined) answer.reason = result.reason;
  if (result.eventType !== undefined) answer.eventType = result.eventType;
  if (result.entityId !== undefined) answer.entityId = result.entityId;
  if (result.success) answer.syncTriggered = result.syncTriggered ?? false;
  if (result.duplicate !== undefined) answer.duplicate = result.duplicate;
  if (result.queued !== undefined) answer.queued = result.queued;
  if (result.deliveryId !== undefined) answer.deliveryId = result.deliveryId;
  answer.processingTimeMs = result.processingTimeMs;
  return answer;
}

/** One write: status, headers and body together. */
function answer(res: ServerResponse, status: number, headers: string[], type: string, body: string): void {
  headers.push('content-type', type, 'content-length', String(Buffer.byteLength(body)));
  res.writeHead(status, headers);
  res.end(body);
}

function record(metrics: ReceiverMetrics, result: ProcessOutcome, started: bigint): void {
  metrics.latency.observe({ status: String(result.status) }, Number(process.hrtime.bigint() - started) / 1e9);
  if (result.status === 404) {
    metrics.rejected.inc({ reason: 'not_found' });
    return;
  }
  if (!result.success) metrics.rejected.inc({ reason: result.reason ?? result.code ?? 'unknown' });
  if (result.duplicate) metrics.duplicates.inc();
  if (result.syncTriggered) metrics.syncsTriggered.inc();
  if (result.queued) metrics.queued.inc();
}

/** The URL the provider called, from the public base URL (proxies rewrite what the server sees). */
function publicUrl(base: string, registrationId: string, requestUrl: string): string {
  const query = requestUrl.indexOf('?');
  return `${base}/webhooks/${encodeURIComponent(registrationId)}${query >= 0 ? requestUrl.slice(query) : ''}`;
}

/** Text answers say their charset, as Express's `send` does. */
function withCharset(type: string): string {
  return /;\s*charset=/i.test(type) ? type : `${type}; charset=utf-8`;
}
