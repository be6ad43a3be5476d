import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Client, createClient } from './api.js';
import { CreateRegistration } from './pages/create-registration.js';
import { Overview } from './pages/overview.js';
import { RegistrationDetail } from './pages/registration-detail.js';
import { Registrations } from './pages/registrations.js';
import { SignIn } from './pages/sign-in.js';
import { href, type Route, useRoute } from './router.js';

/** sessionStorage: the key lives as long as the tab, is never in a URL and never in localStorage. */
const KEY_STORAGE = 'webhooks-admin.api-key';

function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function App() {
  const [apiKey, setApiKey] = useState<string | null>(storedKey);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  const signOut = useCallback((message: string | null = null) => {
    window.sessionStorage.removeItem(KEY_STORAGE);
    setApiKey(null);
    setNotice(message);
  }, []);

  const client = useMemo<Client | null>(
    () => (apiKey ? createClient(apiKey, () => signOut('The receiver refused the key: sign in again.')) : null),
    [apiKey, signOut],
  );

  if (!client) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key) => {
          window.sessionStorage.setItem(KEY_STORAGE, key);
          setNotice(null);
          setApiKey(key);
        }}
      />
    );
  }

  return (
    <>
      <button type="button" className="skip-link" onClick={skipToMain}>
        Skip to content
      </button>
      <header className="top">
        <span className="brand">Webhooks admin</span>
        <nav aria-label="Main">
          <ul>
            <NavLink route={{ page: 'registrations' }} current={route} label="Registrations" />
            <NavLink route={{ page: 'overview' }} current={route} label="Overview" />
          </ul>
        </nav>
        <button type="button" className="button secondary small sign-out" onClick={() => signOut('Signed out.')}>
          Sign out
        </button>
      </header>
      <Page route={route} client={client} />
    </>
  );
}

function skipToMain() {
  // The hash is the router's, so the skip link moves focus instead of navigating to #main.
  document.getElementById('main')?.focus();
}

function NavLink({ route, current, label }: { route: Route; current: Route; label: string }) {
  const active =
    route.page === current.page ||
    (route.page === 'registrations' && (current.page === 'new' || current.page === 'registration'));
  return (
    <li>
      <a href={href(route)} aria-current={active ? 'page' : undefined} className={active ? 'active' : undefined}>
        {label}
      </a>
    </li>
  );
}

function Page({ route, client }: { route: Route; client: Client }) {
  const mainRef = useRef<HTMLElement>(null);
  const key = route.page === 'registration' ? `registration:${route.id}` : route.page;
  // A new page moves focus to its main region, so screen readers start reading from the top of it.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    if (key) mainRef.current?.focus();
  }, [key]);
  return (
    <main id="main" ref={mainRef} tabIndex={-1}>
      {route.page === 'registrations' ? <Registrations client={client} /> : null}
      {route.page === 'new' ? <CreateRegistration client={client} /> : null}
      {route.page === 'registration' ? <RegistrationDetail key={route.id} client={client} id={route.id} /> : null}
      {route.page === 'overview' ? <Overview client={client} /> : null}
      {route.page === 'not-found' ? (
        <>
          <h1>Page not found</h1>
          <p>
            <a href={href({ page: 'registrations' })}>Back to the registrations</a>
          </p>
        </>
      ) : null}
    </main>
  );
}
