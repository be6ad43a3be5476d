import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import {
  ApiError,
  type Client,
  type Delivery,
  errorText,
  type Health,
  type ProcessResult,
  type Registration,
  type RotatedSecret,
} from '../api.js';
import { Badge } from '../components/badge.js';
import { ConfirmDialog } from '../components/dialog.js';
import { SecretReveal } from '../components/secret-reveal.js';
import { ago, formatDuration, formatTime, prettyBody, redactHeader } from '../format.js';
import { PROVIDERS, providerName } from '../providers.js';
import { href, navigate } from '../router.js';

/** A registration that has heard nothing for this long gets a warning. */
const SILENCE_MS = 24 * 60 * 60_000;

export function RegistrationDetail({ client, id }: { client: Client; id: string }) {
  const [registration, setRegistration] = useState<Registration | null>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [dialog, setDialog] = useState<'rotate' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [providerSecret, setProviderSecret] = useState('');
  const [rotated, setRotated] = useState<RotatedSecret | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const path = `webhooks/${encodeURIComponent(id)}`;
      const [r, h, d] = await Promise.all([
        client.get<Registration>(path),
        client.get<Health>(`${path}/health`),
        client.get<{ deliveries: Delivery[] }>(`${path}/deliveries?limit=50`),
      ]);
      setRegistration(r);
      setHealth(h);
      setDeliveries(d.deliveries);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 404) setMissing(true);
      else setError(errorText(caught));
    }
  }, [client, id]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    document.title = `Registration ${id} · Webhooks admin`;
  }, [id]);

  function closeDialog() {
    setDialog(null);
    setDialogError(null);
    setProviderSecret('');
  }

  async function rotate() {
    setBusy(true);
    setDialogError(null);
    try {
      const answer = await client.send<RotatedSecret>(
        'POST',
        `webhooks/${encodeURIComponent(id)}/rotate-secret`,
        providerSecret ? { webhookSecret: providerSecret } : {},
      );
      closeDialog();
      setRotated(answer);
      void load();
    } catch (caught) {
      setDialogError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setDialogError(null);
    try {
      await client.send<void>('DELETE', `webhooks/${encodeURIComponent(id)}`);
      closeDialog();
      navigate({ page: 'registrations' });
    } catch (caught) {
      setDialogError(errorText(caught));
      setBusy(false);
    }
  }

  if (missing) {
    return (
      <>
        <h1>Registration not found</h1>
        <p>There is no registration {id} for this API key.</p>
        <p>
          <a href={href({ page: 'registrations' })}>Back to the registrations</a>
        </p>
      </>
    );
  }

  const provider = registration ? PROVIDERS.find((p) => p.id === registration.integrationId) : undefined;

  return (
    <>
      <p className="crumbs">
        <a href={href({ page: 'registrations' })}>Registrations</a> / <span className="mono">{id}</span>
      </p>
      <div className="page-head">
        <h1>
          {registration ? providerName(registration.integrationId) : 'Registration'}{' '}
          <span className="mono subtle">{id}</span>
        </h1>
        {registration ? (
          <div className="actions">
            <button type="button" className="button secondary" onClick={() => void load()}>
              Refresh
            </button>
            <button type="button" className="button secondary" onClick={() => setDialog('rotate')}>
              Rotate secret
            </button>
            <button type="button" className="button danger" onClick={() => setDialog('delete')}>
              Delete
            </button>
          </div>
        ) : null}
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {!registration && !error ? <p role="status">Loading…</p> : null}

      {rotated ? (
        <SecretReveal title="New signing secret" secret={rotated.webhookSecret} onDismiss={() => setRotated(null)}>
          <p>
            The previous secret keeps verifying until <strong>{formatTime(rotated.previousSecretExpiresAt)}</strong>:
            install the new one at the provider before then.
          </p>
        </SecretReveal>
      ) : null}

      {registration && health ? (
        <>
          <SilenceWarning registration={registration} health={health} />
          <div className="grid">
            <section className="panel" aria-labelledby="facts-title">
              <h2 id="facts-title">Registration</h2>
              <dl className="facts">
                <dt>Status</dt>
                <dd>
                  <Badge status={registration.status} />
                  {registration.isVerified ? ' verified' : ' not verified yet'}
                </dd>
                <dt>Health</dt>
                <dd>
                  <Badge status={health.status} />
                </dd>
                <dt>Connection</dt>
                <dd className="mono">{registration.connectionId}</dd>
                <dt>Webhook URL</dt>
                <dd className="mono break">{registration.webhookUrl}</dd>
                <dt>Events</dt>
                <dd className="mono">{registration.events.join(', ')}</dd>
                <dt>Created</dt>
                <dd>{formatTime(registration.createdAt)}</dd>
                <dt>Last event</dt>
                <dd>
                  {health.lastEventAt ? `${formatTime(health.lastEventAt)} (${ago(health.lastEventAt)})` : 'none yet'}
                </dd>
                {registration.previousSecretsExpireAt.length > 0 ? (
                  <>
                    <dt>Previous secret valid until</dt>
                    <dd>{registration.previousSecretsExpireAt.map((at) => formatTime(at)).join(', ')}</dd>
                  </>
                ) : null}
                {registration.pendingVerificationToken ? (
                  <>
                    <dt>Verification token to paste into {providerName(registration.integrationId)}</dt>
                    <dd className="mono break">{registration.pendingVerificationToken}</dd>
                  </>
                ) : null}
              </dl>
              {provider?.secret === 'provider' ? (
                <p className="hint">
                  {provider.name} issues the signing secret ({provider.secretHint}): install it with Rotate secret.
                </p>
              ) : null}
            </section>
            <section className="panel" aria-labelledby="health-title">
              <h2 id="health-title">Health</h2>
              <dl className="facts counters">
                <dt>Consecutive failures</dt>
                <dd>{health.failureCount}</dd>
                <dt>Failure rate (recent)</dt>
                <dd>{Math.round(health.failureRate)}%</dd>
                <dt>Last failure</dt>
                <dd>{health.lastFailureAt ? formatTime(health.lastFailureAt) : 'none'}</dd>
                {deliveries ? <RecentCounts deliveries={deliveries} /> : null}
              </dl>
              <h3>Recommendations</h3>
              {health.recommendations.length > 0 ? (
                <ul className="recommendations">
                  {health.recommendations.map((text) => (
                    <li key={text}>{text}</li>
                  ))}
                </ul>
              ) : (
                <p className="hint">Nothing to do.</p>
              )}
            </section>
          </div>
          {deliveries ? <Deliveries client={client} registrationId={id} deliveries={deliveries} reload={load} /> : null}
        </>
      ) : null}

      <ConfirmDialog
        open={dialog === 'rotate'}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        busy={busy}
        onConfirm={() => void rotate()}
        onCancel={closeDialog}
      >
        <p>
          A new secret replaces the current one. The current one keeps verifying for a grace period, so the provider can
          be updated without losing events.
        </p>
        <label htmlFor="rotate-secret">Provider-issued secret (optional)</label>
        <input
          id="rotate-secret"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={providerSecret}
          onChange={(event) => setProviderSecret(event.target.value)}
          aria-describedby="rotate-secret-help"
        />
        <p id="rotate-secret-help" className="hint">
          Leave empty to generate one. Paste the provider's own secret here when it issues one
          {provider?.secretHint ? ` (${provider.secretHint})` : ''}.
        </p>
        {dialogError ? (
          <p role="alert" className="error">
            {dialogError}
          </p>
        ) : null}
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'delete'}
        title="Delete this registration?"
        confirmLabel="Delete registration"
        danger
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={closeDialog}
      >
        <p>
          Webhooks sent to <span className="mono break">{registration?.webhookUrl}</span> will answer 404 from now on.
          This cannot be undone.
        </p>
        {dialogError ? (
          <p role="alert" className="error">
            {dialogError}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}

function SilenceWarning({ registration, health }: { registration: Registration; health: Health }) {
  const now = Date.now();
  if (health.lastEventAt) {
    if (now - new Date(health.lastEventAt).getTime() < SILENCE_MS) return null;
    return (
      <p className="warning" role="note">
        No event for {ago(health.lastEventAt, now).replace(' ago', '')}. If the provider should be sending, check its
        webhook settings (URL, secret, events) and its delivery log.
      </p>
    );
  }
  const waited = now - new Date(registration.createdAt).getTime();
  return (
    <p className={waited >= SILENCE_MS ? 'warning' : 'notice'} role="note">
      No event has arrived since this registration was created {ago(registration.createdAt, now)}.{' '}
      {registration.status === 'pending_verification'
        ? "It stays pending verification until the provider's first signed event or handshake arrives."
        : ''}
    </p>
  );
}

function RecentCounts({ deliveries }: { deliveries: Delivery[] }) {
  const count = (outcomes: string[]) => deliveries.filter((d) => outcomes.includes(d.outcome)).length;
  return (
    <>
      <dt>Last {deliveries.length} deliveries</dt>
      <dd>
        {count(['accepted', 'queued'])} accepted, {count(['rejected', 'invalid_payload', 'rate_limited'])} rejected,{' '}
        {count(['duplicate'])} duplicates, {deliveries.filter((d) => d.syncTriggered).length} syncs triggered
      </dd>
    </>
  );
}

function eventText(delivery: Delivery): string {
  if (delivery.events.length === 0) return '—';
  const first = delivery.events[0]!;
  const more = delivery.events.length > 1 ? ` +${delivery.events.length - 1}` : '';
  return `${first.entityType}.${first.eventType}${more}`;
}

function Deliveries({
  client,
  registrationId,
  deliveries,
  reload,
}: {
  client: Client;
  registrationId: string;
  deliveries: Delivery[];
  reload(): Promise<void>;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const [replaying, setReplaying] = useState<Delivery | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);

  async function replay(event?: FormEvent) {
    event?.preventDefault();
    if (!replaying) return;
    setBusy(true);
    try {
      const answer = await client.send<ProcessResult>(
        'POST',
        `webhooks/${encodeURIComponent(registrationId)}/deliveries/${encodeURIComponent(replaying.id)}/replay`,
      );
      setResult(
        answer.success
          ? `Replayed: ${answer.eventType ?? 'event'} ${answer.entityId ?? ''}, sync ${answer.syncTriggered ? 'triggered' : 'not triggered'}${answer.duplicate ? ' (duplicate)' : ''}.`
          : `Replay refused: ${answer.error ?? answer.reason ?? 'unknown reason'}.`,
      );
    } catch (caught) {
      setResult(`Replay failed: ${errorText(caught)}`);
    } finally {
      setBusy(false);
      setReplaying(null);
      await reload();
    }
  }

  return (
    <section aria-labelledby="deliveries-title" className="deliveries">
      <h2 id="deliveries-title">Deliveries</h2>
      <p role="status" className={result ? 'notice' : 'hint'}>
        {result ?? `The ${deliveries.length} most recent, newest first.`}
      </p>
      {deliveries.length === 0 ? (
        <p className="empty">No delivery yet.</p>
      ) : (
        <table className="table responsive">
          <caption className="sr-only">Recent deliveries</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Outcome</th>
              <th scope="col">Reason</th>
              <th scope="col">Duration</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <DeliveryRow
                key={d.id}
                delivery={d}
                expanded={open === d.id}
                onToggle={() => setOpen(open === d.id ? null : d.id)}
                onReplay={() => setReplaying(d)}
              />
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={replaying !== null}
        title="Replay this delivery?"
        confirmLabel="Replay"
        busy={busy}
        onConfirm={() => void replay()}
        onCancel={() => setReplaying(null)}
      >
        <p>
          The stored bytes of the delivery received {formatTime(replaying?.receivedAt)} are verified again with the
          current secrets, parsed and matched; matching events trigger their syncs again.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function DeliveryRow({
  delivery,
  expanded,
  onToggle,
  onReplay,
}: {
  delivery: Delivery;
  expanded: boolean;
  onToggle(): void;
  onReplay(): void;
}) {
  const detailsId = useId();
  return (
    <>
      <tr className="delivery" data-delivery-id={delivery.id}>
        <td data-label="Time">{formatTime(delivery.receivedAt)}</td>
        <td data-label="Event" className="mono">
          {eventText(delivery)}
        </td>
        <td data-label="Outcome">
          <span>
            <Badge status={delivery.outcome} />
            {delivery.syncTriggered ? <span className="hint"> sync</span> : null}
            {delivery.replayOf ? <span className="hint replay-tag"> (replay)</span> : null}
          </span>
        </td>
        <td data-label="Reason" className="mono">
          {delivery.reason ?? '—'}
        </td>
        <td data-label="Duration">{formatDuration(delivery.durationMs)}</td>
        <td data-label="Actions" className="row-actions">
          <div className="actions">
            <button
              type="button"
              className="button secondary small"
              aria-expanded={expanded}
              aria-controls={detailsId}
              onClick={onToggle}
            >
              {expanded ? 'Hide' : 'Details'}
            </button>
            <button type="button" className="button secondary small" onClick={onReplay}>
              Replay
            </button>
          </div>
        </td>
      </tr>
      {expanded ? (
        <tr className="delivery-details">
          <td colSpan={6} id={detailsId}>
            <DeliveryDetails delivery={delivery} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function DeliveryDetails({ delivery }: { delivery: Delivery }) {
  const headers = Object.entries(delivery.headers).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="details">
      <h3>Delivery {delivery.id}</h3>
      {delivery.events.length > 0 ? (
        <p>
          Events:{' '}
          {delivery.events.map((e) => (
            <span key={`${e.entityType}.${e.eventType}.${e.entityId}`} className="mono chip">
              {e.entityType}.{e.eventType} {e.entityId}
            </span>
          ))}
        </p>
      ) : null}
      {delivery.diagnostics ? (
        <p className="hint">
          Signature diagnostics: headers present{' '}
          {delivery.diagnostics.signatureHeaders.length > 0 ? delivery.diagnostics.signatureHeaders.join(', ') : 'none'}
          ; body {delivery.diagnostics.bodyLength} bytes; content type {delivery.diagnostics.contentType ?? 'none'}
          {delivery.diagnostics.timestampSkewSeconds !== undefined
            ? `; timestamp skew ${delivery.diagnostics.timestampSkewSeconds} s`
            : ''}
          .
        </p>
      ) : null}
      <h4>Headers</h4>
      <p className="hint">Credentials (authorization, cookies, tokens) are removed before storage and masked here.</p>
      <div className="scroll">
        <table className="table headers">
          <caption className="sr-only">Request headers</caption>
          <tbody>
            {headers.map(([name, value]) => (
              <tr key={name}>
                <th scope="row" className="mono">
                  {name}
                </th>
                <td className="mono break">{redactHeader(name, value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h4>Body{delivery.bodyTruncated ? ' (first 4 KB)' : ''}</h4>
      <pre className="body" data-testid="delivery-body">
        {prettyBody(delivery.body, delivery.bodyEncoding)}
      </pre>
    </div>
  );
}
