// HTTP/1.1 written byte for byte on a socket: for requests no well-behaved client would send
// (duplicated and folded headers, raw non-UTF-8 bytes in names and values, lying lengths).
import { Socket } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed or reset without answering. */
  status: number;
  head: string;
  body: string;
  ms: number;
}

/** Sends `request` (the bytes of a whole request; add `connection: close`) and reads the answer. */
export function rawRequest(port: number, request: Buffer, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const body = split >= 0 ? text.slice(split + 4) : '';
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: match ? Number(match[1]) : 0, head, body, ms: performance.now() - started });
    };
    socket.setTimeout(timeoutMs, finish);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // One answer is all we wait for: complete when its content-length is in.
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
      if (length && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length[1])) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.connect(port, '127.0.0.1', () => {
      socket.write(request, () => undefined);
    });
  });
}

/** A request from parts; header lines are written as given (raw bytes allowed). */
export function buildRequest(
  path: string,
  headers: Array<[string | Buffer, string | Buffer]>,
  body: Buffer = Buffer.alloc(0),
  options: { contentLength?: number | null; method?: string } = {},
): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`${options.method ?? 'POST'} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`),
  ];
  for (const [name, value] of headers) {
    parts.push(Buffer.isBuffer(name) ? name : Buffer.from(name, 'latin1'), Buffer.from(': '));
    parts.push(Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from('\r\n'));
  }
  const length = options.contentLength === undefined ? body.length : options.contentLength;
  if (length !== null) parts.push(Buffer.from(`content-length: ${length}\r\n`));
  parts.push(Buffer.from('\r\n'), body);
  return Buffer.concat(parts);
}
