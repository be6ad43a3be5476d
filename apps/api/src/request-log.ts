import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

type Level = 'debug' | 'info' | 'error';

/**
 * Starts the log of one request and returns its id: the caller's `x-request-id` when it is a plain
 * token, a fresh UUID otherwise. The answer must carry it back (`x-request-id`).
 *
 * Written for the receive path, where it runs thousands of times a second: the line is built only
 * when its level is enabled. Only what helps an operator is logged: the id, method, path, status and
 * time; never the headers (signatures, tokens) or the body.
 *
 * Levels: 5xx at error; the refusals a flood is made of (401 bad signature, 429 over the limit) and
 * the successes at debug, so junk cannot fill the logs (the rejections are counted in /metrics and
 * kept with their diagnostics); other 4xx at info.
 */
export function startRequestLog(logger: Logger, req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const started = performance.now();
  const method = req.method;
  const url = req.url ?? '/';
  res.once('finish', () => {
    const level = levelFor(res.statusCode);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        req: { id: requestId, method, path: pathOnly(url) },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - started),
      },
      'request completed',
    );
  });
  return requestId;
}

/** The request log as Express middleware; the routes get their logger from `requestLog`. */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const requestId = startRequestLog(logger, req, res);
    res.setHeader('x-request-id', requestId);
    res.locals.requestId = requestId;
    next();
  };
}

/** The logger for this request (its lines carry the request id), made on first use. */
export function requestLog(res: Response, logger: Logger): Logger {
  const locals = res.locals as { requestId?: string; log?: Logger };
  if (!locals.log) locals.log = logger.child({ reqId: locals.requestId ?? 'unknown' });
  return locals.log;
}

function levelFor(status: number): Level {
  if (status >= 500) return 'error';
  if (status === 401 || status === 429) return 'debug';
  return status >= 400 ? 'info' : 'debug';
}

function pathOnly(url: string): string {
  const query = url.indexOf('?');
  return query >= 0 ? url.slice(0, query) : url;
}
