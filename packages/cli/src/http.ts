/** The server could not be reached at all (exit code 3): refused, DNS, TLS, timeout. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType: string;
  text: string;
  /** The parsed body when the answer is JSON; undefined otherwise. */
  json: unknown;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** One HTTP exchange; a failure to connect becomes UnreachableError, never a raw fetch error. */
export async function exchange(fetchImpl: typeof fetch, request: HttpRequest): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers ?? {},
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new UnreachableError(`Cannot reach ${origin(request.url)}: ${describeFetchError(error)}`);
  }
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  let json: unknown;
  if (/\bjson\b/i.test(contentType) && text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, statusText: response.statusText, contentType, text, json };
}

/** Only the origin: the path may carry a registration id, never worth echoing in an error. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the server';
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer in time';
    const cause = (error as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    if (typeof code === 'string') return code;
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}
