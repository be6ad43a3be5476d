/** What the create form needs to know about each built-in provider. */
export interface ProviderInfo {
  id: string;
  name: string;
  /** Who issues the signing secret: this receiver, the provider, or nobody (signed tokens). */
  secret: 'ours' | 'provider' | 'none';
  /** Where a provider-issued secret is found, in the provider's own words. */
  secretHint?: string;
  options?: 'google' | 'salesforce-outbound';
}

export const PROVIDERS: ProviderInfo[] = [
  { id: 'github', name: 'GitHub', secret: 'ours' },
  { id: 'slack', name: 'Slack', secret: 'provider', secretHint: "your Slack app's Basic Information > Signing Secret" },
  { id: 'stripe', name: 'Stripe', secret: 'provider', secretHint: "the endpoint's Signing secret (whsec_...)" },
  { id: 'shopify', name: 'Shopify', secret: 'provider', secretHint: "the app's client secret" },
  { id: 'hubspot', name: 'HubSpot', secret: 'provider', secretHint: "the app's client secret" },
  { id: 'linear', name: 'Linear', secret: 'provider', secretHint: 'the signing secret Linear shows for the webhook' },
  {
    id: 'zoom',
    name: 'Zoom',
    secret: 'provider',
    secretHint: "the app's Secret Token (Feature > Event Subscriptions)",
  },
  { id: 'twilio', name: 'Twilio', secret: 'provider', secretHint: "the account's auth token" },
  { id: 'svix', name: 'Svix', secret: 'provider', secretHint: "the endpoint's signing secret (whsec_...)" },
  {
    id: 'standard-webhooks',
    name: 'Standard Webhooks',
    secret: 'provider',
    secretHint: "the sender's whsec_ secret, if it issues one",
  },
  {
    id: 'salesforce-datacloud',
    name: 'Salesforce Data Cloud',
    secret: 'provider',
    secretHint: "the Data Action target's secret key",
  },
  {
    id: 'notion',
    name: 'Notion',
    secret: 'provider',
    secretHint: 'nothing: Notion sends a verification_token, which this panel then shows to paste back into Notion',
  },
  { id: 'salesforce', name: 'Salesforce (signed callouts)', secret: 'ours' },
  { id: 'salesforce-outbound', name: 'Salesforce Outbound Messages', secret: 'none', options: 'salesforce-outbound' },
  { id: 'google', name: 'Google Pub/Sub push', secret: 'none', options: 'google' },
  { id: 'google-calendar', name: 'Google Calendar', secret: 'ours' },
  { id: 'msgraph', name: 'Microsoft Graph', secret: 'ours' },
];

export function providerName(id: string): string {
  return PROVIDERS.find((p) => p.id === id)?.name ?? id;
}
