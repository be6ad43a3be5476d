import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { type Client, errorText, type Health, type Registration } from '../api.js';
import { Badge } from '../components/badge.js';
import { formatTime } from '../format.js';
import { PROVIDERS, providerName } from '../providers.js';
import { href } from '../router.js';

interface Filters {
  integrationId: string;
  connectionId: string;
  status: string;
}

const EMPTY: Filters = { integrationId: '', connectionId: '', status: '' };

export function Registrations({ client }: { client: Client }) {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [registrations, setRegistrations] = useState<Registration[] | null>(null);
  const [health, setHealth] = useState<Map<string, Health>>(new Map());
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    document.title = 'Registrations · Webhooks admin';
  }, []);

  const load = useCallback(async () => {
    setError(null);
    try {
      const query = new URLSearchParams();
      if (filters.integrationId) query.set('integrationId', filters.integrationId);
      if (filters.connectionId) query.set('connectionId', filters.connectionId);
      const suffix = query.size > 0 ? `?${query}` : '';
      const [list, unhealthy] = await Promise.all([
        client.get<{ webhooks: Registration[] }>(`webhooks${suffix}`),
        client.get<Health[]>('webhooks/unhealthy'),
      ]);
      setRegistrations(list.webhooks);
      setHealth(new Map(unhealthy.map((h) => [h.registrationId, h])));
    } catch (caught) {
      setError(errorText(caught));
    }
  }, [client, filters.integrationId, filters.connectionId]);

  useEffect(() => {
    void load();
  }, [load]);

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilters({ ...draft, connectionId: draft.connectionId.trim() });
  }

  const shown = (registrations ?? []).filter((r) => !filters.status || r.status === filters.status);
  const filtered = filters.integrationId !== '' || filters.connectionId !== '' || filters.status !== '';

  return (
    <>
      <div className="page-head">
        <h1>Registrations</h1>
        <a className="button primary" href={href({ page: 'new' })}>
          New registration
        </a>
      </div>

      <form className="filters" onSubmit={apply} aria-label="Filter registrations">
        <div className="field">
          <label htmlFor="filter-integration">Integration</label>
          <select
            id="filter-integration"
            value={draft.integrationId}
            onChange={(event) => setDraft({ ...draft, integrationId: event.target.value })}
          >
            <option value="">All integrations</option>
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-connection">Connection</label>
          <input
            id="filter-connection"
            type="search"
            value={draft.connectionId}
            placeholder="Connection id"
            onChange={(event) => setDraft({ ...draft, connectionId: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select
            id="filter-status"
            value={draft.status}
            onChange={(event) => setDraft({ ...draft, status: event.target.value })}
          >
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="pending_verification">Pending verification</option>
            <option value="failed">Failed</option>
            <option value="inactive">Inactive</option>
          </select>
        </div>
        <div className="field field-actions">
          <button type="submit" className="button secondary">
            Apply filters
          </button>
          {filtered ? (
            <button
              type="button"
              className="button link"
              onClick={() => {
                setDraft(EMPTY);
                setFilters(EMPTY);
              }}
            >
              Clear
            </button>
          ) : null}
        </div>
      </form>

      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {registrations === null && !error ? <p role="status">Loading…</p> : null}
      {registrations !== null ? (
        <>
          <p role="status" className="hint">
            {shown.length === 1 ? '1 registration' : `${shown.length} registrations`}
            {filtered ? (shown.length === 1 ? ' matches the filters' : ' match the filters') : ''}.
          </p>
          {shown.length === 0 ? (
            <p className="empty">
              {filtered ? 'No registration matches these filters.' : 'No registrations yet. '}
              {filtered ? null : <a href={href({ page: 'new' })}>Create the first one.</a>}
            </p>
          ) : (
            <table className="table responsive">
              <caption className="sr-only">Webhook registrations</caption>
              <thead>
                <tr>
                  <th scope="col">Registration</th>
                  <th scope="col">Integration</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Status</th>
                  <th scope="col">Health</th>
                  <th scope="col">Events</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => {
                  const h = health.get(r.id);
                  return (
                    <tr key={r.id}>
                      <th scope="row" data-label="Registration">
                        <a href={href({ page: 'registration', id: r.id })} className="mono">
                          {r.id}
                        </a>
                      </th>
                      <td data-label="Integration">{providerName(r.integrationId)}</td>
                      <td data-label="Connection" className="mono">
                        {r.connectionId}
                      </td>
                      <td data-label="Status">
                        <Badge status={r.status} />
                      </td>
                      <td data-label="Health">
                        <Badge status={h ? h.status : 'healthy'} label="Health" />
                      </td>
                      <td data-label="Events" className="mono">
                        {r.events.join(', ')}
                      </td>
                      <td data-label="Created">{formatTime(r.createdAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      ) : null}
    </>
  );
}
