import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, checkKey, errorText } from '../api.js';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(key: string): void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Webhooks admin';
  }, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await checkKey(candidate);
      setKey('');
      onSignedIn(candidate);
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'The receiver does not know this key.'
          : errorText(caught),
      );
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <form className="panel" onSubmit={submit} noValidate>
        <h1 ref={headingRef}>Webhooks admin</h1>
        <p className="hint">Sign in with an API key of your tenant. It is kept in this tab only.</p>
        {notice ? (
          <p role="status" className="notice">
            {notice}
          </p>
        ) : null}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="current-password"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'sign-in-error key-help' : 'key-help'}
          required
        />
        <p id="key-help" className="hint">
          Create one with <code>pnpm api-key create &lt;tenantId&gt;</code>.
        </p>
        {error ? (
          <p id="sign-in-error" role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" className="button primary full-width" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
