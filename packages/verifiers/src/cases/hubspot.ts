import { signHubSpotV3 } from '../hubspot.js';
import { type ProviderCase, prettyJson } from './types.js';

const URL = 'https://hooks.example.com/webhooks/reg_hubspot';

// HubSpot's timestamp is in milliseconds, so freshness is re-signed to the millisecond.
const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signHubSpotV3({ url: URL, method: 'POST', body, secret, timestamp: timestampMs }),
  body,
  url: URL,
  method: 'POST',
});

export const hubspotCase: ProviderCase = {
  provider: 'hubspot',
  secrets: ['yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
  body: prettyJson([
    {
      eventId: 1,
      subscriptionId: 12345,
      portalId: 62515,
      occurredAt: 1564113600000,
      subscriptionType: 'contact.creation',
      objectId: 123,
    },
  ]),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'x-hubspot-signature-v3',
  malformedValue: 'v3=abc',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
