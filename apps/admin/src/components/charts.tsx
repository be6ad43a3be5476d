import { useId } from 'react';

/**
 * Small hand-made SVG charts. The plots stretch to their box (preserveAspectRatio="none") with
 * non-scaling strokes; every label is HTML text beside the SVG, so nothing is distorted, and each
 * chart carries a sentence for screen readers.
 */

export interface Series {
  label: string;
  tone: 'good' | 'warn' | 'bad' | 'info';
  values: number[];
}

const HEIGHT = 100;

export interface TimeChartProps {
  title: string;
  series: Series[];
  from: Date;
  to: Date;
  unit: string;
}

export function TimeChart({ title, series, from, to, unit }: TimeChartProps) {
  const titleId = useId();
  const length = Math.max(1, ...series.map((s) => s.values.length));
  const stacked = Array.from({ length }, (_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...stacked);
  const total = stacked.reduce((a, b) => a + b, 0);
  const peakIndex = stacked.indexOf(Math.max(...stacked));
  const peakAt = new Date(from.getTime() + peakIndex * 60_000);
  const summary =
    total === 0
      ? `${title}: nothing in this period.`
      : `${title}: ${series.map((s) => `${sum(s.values)} ${s.label.toLowerCase()}`).join(', ')}; peak ${stacked[peakIndex]} ${unit} at ${timeOfDay(peakAt)}.`;

  const paths = series.map((s, index) => {
    let d = '';
    for (let i = 0; i < length; i++) {
      const value = s.values[i] ?? 0;
      if (value <= 0) continue;
      const below = series.slice(0, index).reduce((acc, other) => acc + (other.values[i] ?? 0), 0);
      const y0 = HEIGHT - (below / max) * HEIGHT;
      const y1 = HEIGHT - ((below + value) / max) * HEIGHT;
      const x = i + 0.5;
      d += `M${x} ${y0.toFixed(2)}V${y1.toFixed(2)}`;
    }
    return { tone: s.tone, label: s.label, d };
  });

  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId}>
        <span className="chart-title">{title}</span>
        <span className="legend">
          {series.map((s) => (
            <span key={s.label} className={`legend-item tone-${s.tone}`}>
              <svg viewBox="0 0 10 10" aria-hidden="true" className="swatch">
                <rect width="10" height="10" />
              </svg>
              {s.label} ({sum(s.values)})
            </span>
          ))}
        </span>
      </figcaption>
      <div className="plot">
        <span className="y-max" aria-hidden="true">
          {max} {unit}
        </span>
        <svg
          className="plot-svg"
          viewBox={`0 0 ${length} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={summary}
        >
          <line className="grid" x1="0" x2={length} y1={HEIGHT / 2} y2={HEIGHT / 2} />
          <line className="axis" x1="0" x2={length} y1={HEIGHT} y2={HEIGHT} />
          {paths.map((p) => (p.d ? <path key={p.label} className={`bars tone-${p.tone}`} d={p.d} /> : null))}
        </svg>
      </div>
      <div className="x-axis" aria-hidden="true">
        {ticks(from, to).map((tick) => (
          <span key={tick.getTime()}>{timeOfDay(tick)}</span>
        ))}
      </div>
    </figure>
  );
}

export interface BarListProps {
  title: string;
  items: Array<{ label: string; value: number }>;
  empty: string;
}

/** Horizontal bars, one row per item, biggest first. */
export function BarList({ title, items, empty }: BarListProps) {
  const titleId = useId();
  const sorted = [...items].sort((a, b) => b.value - a.value);
  const max = Math.max(1, ...sorted.map((i) => i.value));
  return (
    <figure className="chart" aria-labelledby={titleId}>
      <figcaption id={titleId}>
        <span className="chart-title">{title}</span>
      </figcaption>
      {sorted.length === 0 ? (
        <p className="hint">{empty}</p>
      ) : (
        <ul className="bar-list">
          {sorted.map((item) => (
            <li key={item.label}>
              <span className="bar-label">{item.label}</span>
              <svg className="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                <rect className="tone-bad" width={(item.value / max) * 100} height="10" />
              </svg>
              <span className="bar-value">{item.value}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function ticks(from: Date, to: Date): Date[] {
  const span = to.getTime() - from.getTime();
  return [0, 0.25, 0.5, 0.75, 1].map((f) => new Date(from.getTime() + f * span));
}

function timeOfDay(date: Date): string {
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
