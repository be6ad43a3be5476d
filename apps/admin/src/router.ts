import { useEffect, useState } from 'react';

/** Hash routes: nothing to configure on the server, and reloading any page keeps working. */
export type Route =
  | { page: 'registrations' }
  | { page: 'new' }
  | { page: 'registration'; id: string }
  | { page: 'overview' }
  | { page: 'not-found' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/registrations') return { page: 'registrations' };
  if (path === '/registrations/new') return { page: 'new' };
  if (path === '/overview') return { page: 'overview' };
  const match = /^\/registrations\/([A-Za-z0-9_-]{1,100})$/.exec(path);
  if (match) return { page: 'registration', id: match[1]! };
  return { page: 'not-found' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'registrations':
      return '#/registrations';
    case 'new':
      return '#/registrations/new';
    case 'registration':
      return `#/registrations/${encodeURIComponent(route.id)}`;
    case 'overview':
      return '#/overview';
    default:
      return '#/';
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
