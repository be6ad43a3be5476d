/** Display helpers. Everything they return is rendered as React text, never as HTML. */

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return '<1 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = seconds / 60;
  if (minutes < 60) return `${Math.round(minutes)} min`;
  const hours = minutes / 60;
  if (hours < 48) return `${Math.round(hours)} h`;
  return `${Math.round(hours / 24)} days`;
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const ms = now - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return 'never';
  return ms < 1000 ? 'just now' : `${formatDuration(ms)} ago`;
}

export const STATUS_TEXT: Record<string, string> = {
  active: 'Active',
  inactive: 'Inactive',
  failed: 'Failed',
  pending_verification: 'Pending verification',
  healthy: 'Healthy',
  degraded: 'Degraded',
  accepted: 'Accepted',
  queued: 'Queued',
  duplicate: 'Duplicate',
  rejected: 'Rejected',
  invalid_payload: 'Invalid payload',
  rate_limited: 'Rate limited',
  handshake: 'Handshake',
};

/** The tone of a status badge: a colour class, always paired with the status text. */
export function tone(status: string): 'good' | 'warn' | 'bad' | 'neutral' {
  if (['active', 'healthy', 'accepted', 'handshake'].includes(status)) return 'good';
  if (['degraded', 'pending_verification', 'queued', 'duplicate', 'rate_limited'].includes(status)) return 'warn';
  if (['failed', 'rejected', 'invalid_payload'].includes(status)) return 'bad';
  return 'neutral';
}

/** Headers that carry credentials are masked again here, whatever the store kept. */
const SECRET_HEADER = /authorization|cookie|token|secret|api[-_]?key|password/i;

export function redactHeader(name: string, value: string): string {
  return SECRET_HEADER.test(name) ? '[redacted]' : value;
}

/** Pretty-prints JSON bodies; anything else is shown exactly as received. */
export function prettyBody(body: string, encoding: 'utf8' | 'base64'): string {
  if (encoding === 'base64') return `(binary, base64) ${body}`;
  const trimmed = body.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      return body;
    }
  }
  return body;
}
