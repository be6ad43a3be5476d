import { useCallback, useEffect, useState } from 'react';
import { type Client, errorText, type MinuteStats, type Stats } from '../api.js';
import { BarList, TimeChart } from '../components/charts.js';
import { formatDuration } from '../format.js';

const HOURS = 24;

export function Overview({ client }: { client: Client }) {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = 'Overview · Webhooks admin';
  }, []);

  const load = useCallback(async () => {
    setError(null);
    try {
      setStats(await client.get<Stats>(`stats?hours=${HOURS}`));
    } catch (caught) {
      setError(errorText(caught));
    }
  }, [client]);

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), 60_000);
    return () => window.clearInterval(timer);
  }, [load]);

  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <button type="button" className="button secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {!stats && !error ? <p role="status">Loading…</p> : null}
      {stats ? <Charts stats={stats} /> : null}
    </>
  );
}

function Charts({ stats }: { stats: Stats }) {
  const from = new Date(stats.from);
  const to = new Date(stats.to);
  const length = Math.max(1, Math.round((to.getTime() - from.getTime()) / 60_000));
  const dense = (pick: (m: MinuteStats) => number): number[] => {
    const values = new Array<number>(length).fill(0);
    for (const minute of stats.minutes) {
      const index = Math.floor((new Date(minute.minute).getTime() - from.getTime()) / 60_000);
      if (index >= 0 && index < length) values[index] = (values[index] ?? 0) + pick(minute);
    }
    return values;
  };

  return (
    <>
      <p className="hint">
        The last {stats.hours} hours, per minute, across this tenant's {stats.registrations}{' '}
        {stats.registrations === 1 ? 'registration' : 'registrations'}.
        {stats.truncated ? ' Busy registrations are counted from their 500 most recent deliveries only.' : ''}
      </p>
      <ul className="kpis" aria-label="Totals">
        <li>
          <span className="kpi-value">{stats.totals.received}</span> received
        </li>
        <li>
          <span className="kpi-value">{stats.totals.accepted}</span> accepted
        </li>
        <li>
          <span className="kpi-value">{stats.totals.rejected}</span> rejected
        </li>
        <li>
          <span className="kpi-value">{stats.totals.duplicates}</span> duplicates
        </li>
        <li>
          <span className="kpi-value">{stats.totals.syncsTriggered}</span> syncs triggered
        </li>
      </ul>
      <div className="charts">
        <TimeChart
          title="Events per minute"
          unit="/min"
          from={from}
          to={to}
          series={[
            { label: 'Accepted', tone: 'good', values: dense((m) => m.accepted) },
            { label: 'Duplicates', tone: 'warn', values: dense((m) => m.duplicates) },
            { label: 'Rejected', tone: 'bad', values: dense((m) => m.rejected) },
          ]}
        />
        <BarList
          title="Rejections by reason"
          empty="No rejection in this period."
          items={Object.entries(stats.rejectionsByReason).map(([label, value]) => ({ label, value }))}
        />
        <TimeChart
          title="Syncs triggered"
          unit="/min"
          from={from}
          to={to}
          series={[{ label: 'Syncs', tone: 'info', values: dense((m) => m.syncsTriggered) }]}
        />
        <figure className="chart">
          <figcaption>
            <span className="chart-title">Outbox lag</span>
          </figcaption>
          <ul className="kpis small" aria-label="Outbox now">
            <li>
              <span className="kpi-value">{formatDuration(stats.outbox.oldestPendingAgeMs)}</span> oldest waiting task
            </li>
            <li>
              <span className="kpi-value">{stats.outbox.pending}</span> waiting
            </li>
            <li>
              <span className="kpi-value">{stats.outbox.dead}</span> dead
            </li>
          </ul>
          <TimeChart
            title="Tasks still waiting, by the minute they were created"
            unit="tasks"
            from={from}
            to={to}
            series={[{ label: 'Waiting', tone: 'warn', values: dense((m) => m.outboxWaiting) }]}
          />
        </figure>
      </div>
    </>
  );
}
