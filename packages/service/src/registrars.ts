import type {
  ConnectionCredentials,
  ManualSetup,
  ProviderRegistrar,
  ProviderRegistration,
  RegisterAtProviderInput,
  WebhookRegistration,
} from '@webhooks/core';

/** Where each provider takes the webhook URL and secret when there is no API for it. */
const WHERE: Record<string, string> = {
  github: 'Repository (or organisation) Settings > Webhooks > Add webhook; content type application/json',
  slack: "api.slack.com/apps > your app > Event Subscriptions > Request URL; the secret is the app's Signing Secret",
  notion:
    'notion.com/my-integrations > your integration > Webhooks > Create a subscription; Notion then sends a verification_token, shown on this registration, to paste back into Notion',
  salesforce:
    'Your Apex or Flow callout: sign the raw body with HMAC-SHA256 and send X-Salesforce-Event-Signature: sha256=<hex>',
  'salesforce-outbound':
    "Setup > Process Automation > Outbound Messages > Endpoint URL; set the registration's organisation id",
  'salesforce-datacloud': 'Data Cloud > Data Actions > Webhook target: URL and secret key',
  google:
    'Pub/Sub > Subscriptions > Push, with authentication: set the audience and the push service account on this registration',
  'google-calendar': 'events.watch request: address = the URL, token = the secret',
  stripe:
    "Dashboard > Developers > Webhooks > Add endpoint; install the endpoint's whsec_ signing secret with rotate-secret",
  'standard-webhooks': "The sender's webhook settings: the URL, and the whsec_ secret",
  svix: "The sender's Svix portal: add the endpoint, then install its whsec_ signing secret with rotate-secret",
  shopify:
    "Shopify admin > Settings > Notifications > Webhooks, or the app's webhook subscriptions; the secret is the app's client secret",
  twilio: "Twilio console > the number or service > webhook URL; the secret is the account's auth token",
  hubspot: "HubSpot developer account > your app > Webhooks > Target URL; the secret is the app's client secret",
  linear: 'Linear > Settings > API > Webhooks > New webhook; install the signing secret Linear shows',
  zoom: "Zoom App Marketplace > your app > Feature > Event Subscriptions; the secret is the app's Secret Token",
  msgraph: 'POST /subscriptions with notificationUrl = the URL and clientState = the secret',
};

/** Setup instructions for an operator who registers the webhook at the provider by hand. */
export function manualInstructions(registration: WebhookRegistration, secretIsProviderIssued: boolean): string[] {
  const steps = [
    `Webhook URL: ${registration.webhookUrl}`,
    `Where: ${WHERE[registration.integrationId] ?? "the provider's webhook settings"}`,
    `Events: ${registration.events.join(', ')}`,
  ];
  steps.push(
    secretIsProviderIssued
      ? 'Secret: the one the provider issued (installed on this registration)'
      : 'Secret: the webhookSecret returned with this registration (shown once); if the provider issues its own, install it with POST /webhooks/:id/rotate-secret { webhookSecret }',
  );
  steps.push(
    "The registration stays pending_verification until the provider's handshake or first verified event arrives.",
  );
  return steps;
}

/** A registrar for providers without an API, or without credentials: it explains instead. */
export const manualRegistrar: ProviderRegistrar = {
  async register({ registration }: RegisterAtProviderInput): Promise<ManualSetup> {
    return { kind: 'manual', instructions: manualInstructions(registration, false) };
  },
  async unregister(): Promise<void> {},
};

export interface GitHubRegistrarOptions {
  credentials: ConnectionCredentials;
  /** GitHub's REST API, or a GitHub Enterprise Server's `https://HOST/api/v3`. */
  baseUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * Creates and deletes repository or organisation hooks through GitHub's REST API, and installs a
 * rotated secret in them. Needs credentials
 * `{ token, owner, repo? }` for the connection; without them, or when GitHub cannot be reached from
 * here, it falls back to manual instructions, so registering never fails on the provider's account.
 */
export function createGitHubRegistrar(options: GitHubRegistrarOptions): ProviderRegistrar {
  const baseUrl = (options.baseUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  function hooksUrl(credentials: Record<string, string>): string | null {
    const { owner, repo } = credentials;
    if (!owner) return null;
    const path = repo
      ? `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/hooks`
      : `/orgs/${encodeURIComponent(owner)}/hooks`;
    return baseUrl + path;
  }

  function headers(token: string): Record<string, string> {
    return {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-github-api-version': '2022-11-28',
    };
  }

  /** The connection's token and hooks URL, or null when it has no usable credentials. */
  async function connection(input: RegisterAtProviderInput): Promise<{ token: string; url: string } | null> {
    const { registration } = input;
    const credentials =
      input.credentials ?? (await options.credentials.get(registration.tenantId, registration.connectionId));
    const url = credentials ? hooksUrl(credentials) : null;
    return credentials?.token && url ? { token: credentials.token, url } : null;
  }

  /** A hook's configuration: where to post and the secret to sign with. */
  function hookConfig(registration: WebhookRegistration): Record<string, string> {
    return {
      url: registration.webhookUrl,
      content_type: 'json',
      secret: registration.webhookSecret,
      insecure_ssl: '0',
    };
  }

  return {
    async register(input: RegisterAtProviderInput): Promise<ProviderRegistration | ManualSetup> {
      const { registration } = input;
      const github = await connection(input);
      if (!github) return manualRegistrar.register(input) as Promise<ManualSetup>;
      try {
        const response = await doFetch(github.url, {
          method: 'POST',
          headers: headers(github.token),
          body: JSON.stringify({
            name: 'web',
            active: true,
            events: githubEvents(registration.events),
            config: hookConfig(registration),
          }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) throw new Error(`GitHub answered ${response.status}`);
        const hook = (await response.json()) as { id?: unknown };
        if (typeof hook.id !== 'number' && typeof hook.id !== 'string')
          throw new Error('GitHub answered without a hook id');
        return { kind: 'registered', providerWebhookId: String(hook.id) };
      } catch (error) {
        const setup = (await manualRegistrar.register(input)) as ManualSetup;
        const why = error instanceof Error ? error.message : 'unknown error';
        return {
          kind: 'manual',
          instructions: [`GitHub's API could not create the hook (${why}): add it by hand.`, ...setup.instructions],
        };
      }
    },

    async updateSecret(input: RegisterAtProviderInput): Promise<void> {
      const { registration } = input;
      if (!registration.providerWebhookId) throw new Error('the registration has no hook at GitHub');
      const github = await connection(input);
      if (!github) throw new Error('no GitHub credentials for this connection');
      // The hook's configuration, with the new secret: GitHub signs with it from the next delivery.
      const response = await doFetch(`${github.url}/${encodeURIComponent(registration.providerWebhookId)}/config`, {
        method: 'PATCH',
        headers: headers(github.token),
        body: JSON.stringify(hookConfig(registration)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`GitHub answered ${response.status}`);
    },

    async unregister(input: RegisterAtProviderInput): Promise<void> {
      const { registration } = input;
      if (!registration.providerWebhookId) return;
      const github = await connection(input);
      if (!github) return;
      const response = await doFetch(`${github.url}/${encodeURIComponent(registration.providerWebhookId)}`, {
        method: 'DELETE',
        headers: headers(github.token),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // 404: already gone, which is what we wanted.
      if (!response.ok && response.status !== 404) throw new Error(`GitHub answered ${response.status}`);
    },
  };
}

/** GitHub event names from our patterns (`issue.opened` → `issues`); `*` when any pattern is a wildcard entity. */
function githubEvents(patterns: readonly string[]): string[] {
  const names = new Set<string>();
  for (const pattern of patterns) {
    const entity = pattern.split('.')[0]!.toLowerCase();
    if (entity === '*') return ['*'];
    names.add(entity === 'issue' ? 'issues' : entity);
  }
  return [...names];
}
