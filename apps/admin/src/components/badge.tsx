import { STATUS_TEXT, tone } from '../format.js';

/** A status in words, with a colour as a second cue (never the only one). */
export function Badge({ status, label }: { status: string; label?: string }) {
  return (
    <span className={`badge badge-${tone(status)}`}>
      {label !== undefined ? <span className="sr-only">{label}: </span> : null}
      {STATUS_TEXT[status] ?? status}
    </span>
  );
}
