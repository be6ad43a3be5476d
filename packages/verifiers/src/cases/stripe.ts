import { signStripe } from '../stripe.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signStripe({ body, secret, timestamp: Math.floor(timestampMs / 1000) }),
  body,
});

export const stripeCase: ProviderCase = {
  provider: 'stripe',
  secrets: ['whsec_test_secret_one', 'whsec_test_secret_two'],
  body: prettyJson({
    id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
    object: 'event',
    type: 'customer.created',
    data: { object: { id: 'cus_9s6XKzkNRiz8i3', object: 'customer' } },
  }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'stripe-signature',
  malformedValue: 'v1=,t=',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
