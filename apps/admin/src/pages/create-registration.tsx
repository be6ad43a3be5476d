import { type FormEvent, useEffect, useState } from 'react';
import { type Client, type CreatedRegistration, errorText } from '../api.js';
import { Badge } from '../components/badge.js';
import { SecretReveal } from '../components/secret-reveal.js';
import { PROVIDERS } from '../providers.js';
import { href, navigate } from '../router.js';

interface Draft {
  integrationId: string;
  connectionId: string;
  events: string;
  webhookSecret: string;
  audience: string;
  serviceAccountEmail: string;
  organizationId: string;
}

const EMPTY: Draft = {
  integrationId: 'github',
  connectionId: '',
  events: '',
  webhookSecret: '',
  audience: '',
  serviceAccountEmail: '',
  organizationId: '',
};

export function CreateRegistration({ client }: { client: Client }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedRegistration | null>(null);
  const provider = PROVIDERS.find((p) => p.id === draft.integrationId) ?? PROVIDERS[0]!;

  useEffect(() => {
    document.title = 'New registration · Webhooks admin';
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const events = draft.events
      .split(/[\s,]+/)
      .map((e) => e.trim())
      .filter(Boolean);
    if (!draft.connectionId.trim() || events.length === 0) {
      setError('A connection id and at least one event pattern are required.');
      return;
    }
    const body: Record<string, unknown> = { connectionId: draft.connectionId.trim(), events };
    if (provider.secret === 'provider' && draft.webhookSecret) body.webhookSecret = draft.webhookSecret;
    if (provider.options === 'google') {
      body.providerOptions = {
        google: {
          ...(draft.audience ? { audience: draft.audience.trim() } : {}),
          ...(draft.serviceAccountEmail ? { serviceAccountEmail: draft.serviceAccountEmail.trim() } : {}),
        },
      };
    }
    if (provider.options === 'salesforce-outbound' && draft.organizationId) {
      body.providerOptions = { salesforceOrganizationId: draft.organizationId.trim() };
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await client.send<CreatedRegistration>(
        'POST',
        `integrations/${encodeURIComponent(draft.integrationId)}/webhooks`,
        body,
      );
      // The form's copy of a provider-issued secret goes now; the answer is shown once below.
      setDraft(EMPTY);
      setCreated(answer);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <>
        <h1>Registration created</h1>
        <dl className="facts">
          <dt>Registration</dt>
          <dd className="mono">{created.registrationId}</dd>
          <dt>Status</dt>
          <dd>
            <Badge status={created.status} />
          </dd>
          <dt>Webhook URL</dt>
          <dd className="mono break">{created.webhookUrl}</dd>
        </dl>
        <SecretReveal
          title="Signing secret"
          secret={created.webhookSecret}
          onDismiss={() => navigate({ page: 'registration', id: created.registrationId })}
        >
          {created.setup && created.setup.length > 0 ? (
            <>
              <h3>Set it up at the provider</h3>
              <ol className="steps">
                {created.setup.map((step) => (
                  <li key={step}>{step}</li>
                ))}
              </ol>
            </>
          ) : null}
          <p className="hint">
            If the provider issues its own signing secret, paste it on the registration page with{' '}
            <strong>Rotate secret</strong> (provider-issued secret).
          </p>
        </SecretReveal>
      </>
    );
  }

  return (
    <>
      <p className="crumbs">
        <a href={href({ page: 'registrations' })}>Registrations</a> / New
      </p>
      <h1>New registration</h1>
      <form className="panel form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="integration">Integration</label>
          <select
            id="integration"
            value={draft.integrationId}
            onChange={(event) => setDraft({ ...draft, integrationId: event.target.value, webhookSecret: '' })}
          >
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="connection">Connection id</label>
          <input
            id="connection"
            value={draft.connectionId}
            onChange={(event) => setDraft({ ...draft, connectionId: event.target.value })}
            aria-describedby="connection-help"
            required
          />
          <p id="connection-help" className="hint">
            Your id for the account or workspace at the provider; sync tasks carry it.
          </p>
        </div>
        <div className="field">
          <label htmlFor="events">Events</label>
          <input
            id="events"
            value={draft.events}
            placeholder="issue.*, pull_request.opened"
            onChange={(event) => setDraft({ ...draft, events: event.target.value })}
            aria-describedby="events-help"
            required
          />
          <p id="events-help" className="hint">
            Patterns of <code>entityType.eventType</code>, separated by commas: <code>contact.*</code> matches every
            contact event, <code>*.created</code> every creation, <code>*</code> everything.
          </p>
        </div>
        {provider.secret === 'provider' ? (
          <div className="field">
            <label htmlFor="provider-secret">Provider-issued secret (optional)</label>
            <input
              id="provider-secret"
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={draft.webhookSecret}
              onChange={(event) => setDraft({ ...draft, webhookSecret: event.target.value })}
              aria-describedby="provider-secret-help"
            />
            <p id="provider-secret-help" className="hint">
              {provider.name} issues the signing secret: paste {provider.secretHint}. You can also add it later on the
              registration page with Rotate secret.
            </p>
          </div>
        ) : null}
        {provider.secret === 'ours' ? (
          <p className="hint">
            {provider.name} takes the secret this receiver generates: it is shown once after you create the
            registration, with the setup steps.
          </p>
        ) : null}
        {provider.options === 'google' ? (
          <>
            <div className="field">
              <label htmlFor="google-audience">Audience</label>
              <input
                id="google-audience"
                value={draft.audience}
                onChange={(event) => setDraft({ ...draft, audience: event.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="google-account">Push service account email</label>
              <input
                id="google-account"
                type="email"
                value={draft.serviceAccountEmail}
                onChange={(event) => setDraft({ ...draft, serviceAccountEmail: event.target.value })}
              />
            </div>
          </>
        ) : null}
        {provider.options === 'salesforce-outbound' ? (
          <div className="field">
            <label htmlFor="sf-org">Salesforce organisation id</label>
            <input
              id="sf-org"
              value={draft.organizationId}
              onChange={(event) => setDraft({ ...draft, organizationId: event.target.value })}
            />
          </div>
        ) : null}
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <div className="actions">
          <a className="button secondary" href={href({ page: 'registrations' })}>
            Cancel
          </a>
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create registration'}
          </button>
        </div>
      </form>
    </>
  );
}
