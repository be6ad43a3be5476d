import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { RequestHandler } from 'express';

/** The body as sent, or why it could not be read (and the answer to give). */
export type BodyOutcome =
  | { ok: true; body: Buffer }
  | { ok: false; status: 400 | 413 | 415; code: string; error: string; close: boolean };

const TOO_LARGE: BodyOutcome = {
  ok: false,
  status: 413,
  code: 'payload_too_large',
  error: 'The request body is larger than this route accepts',
  // The rest of what the client sends is not read; the socket closes after the answer.
  close: true,
};
const UNREADABLE: BodyOutcome = {
  ok: false,
  status: 400,
  code: 'invalid_request',
  error: 'The request could not be read',
  close: true,
};

/**
 * Reads the raw request body, up to `limit` bytes; no parser runs on it, so a signature is checked
 * over exactly the bytes that were sent.
 *
 * - A body that declares more than `limit` bytes is refused at once, before any of it is read:
 *   waiting for it would hold the socket until it arrived (or never did). One that streams past the
 *   limit is refused as soon as it does.
 * - A compressed body (`Content-Encoding` gzip, deflate or br) is inflated, with the limit on the
 *   inflated size; another encoding is refused with 415.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyOutcome> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
    req.pause();
    return Promise.resolve(TOO_LARGE);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return collect(req, req, limit);
  const decoder = decoderFor(encoding);
  if (!decoder) {
    req.pause();
    return Promise.resolve({
      ok: false,
      status: 415,
      code: 'unsupported_encoding',
      error: 'Content-Encoding must be gzip, deflate, br or identity',
      close: true,
    });
  }
  req.pipe(decoder);
  return collect(req, decoder, limit);
}

/** `req.body` as the raw Buffer (Express middleware for the admin routes), the same rules. */
export function rawBody(limit: number): RequestHandler {
  return (req, res, next) => {
    readBody(req, limit).then((outcome) => {
      if (outcome.ok) {
        req.body = outcome.body;
        next();
        return;
      }
      if (outcome.close) res.setHeader('connection', 'close');
      res.status(outcome.status).json({ error: outcome.error, code: outcome.code });
    }, next);
  };
}

function decoderFor(encoding: string): (Readable & NodeJS.WritableStream) | null {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  return null;
}

/** Collects `source` (the request, or its decoder) into one Buffer, with one copy at most. */
function collect(req: IncomingMessage, source: Readable, limit: number): Promise<BodyOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (outcome: BodyOutcome): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      req.off('close', onClose);
      if (!outcome.ok) {
        req.pause();
        if (source !== req) source.destroy();
      }
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void =>
      done({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    const onError = (): void => done(UNREADABLE);
    // Closed before the end: the client went away (there is no one left to answer).
    const onClose = (): void => {
      if (!req.complete) done(UNREADABLE);
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    req.on('close', onClose);
  });
}
