import { signStandardWebhooks } from '../standard-webhooks.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signStandardWebhooks({
    body,
    secret,
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: Math.floor(timestampMs / 1000),
  }),
  body,
});

export const standardWebhooksCase: ProviderCase = {
  provider: 'standard-webhooks',
  secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_c2Vjb25kLXN0YW5kYXJkLXNlY3JldA=='],
  body: prettyJson({
    type: 'user.created',
    timestamp: '2022-11-03T20:26:10.344522Z',
    data: { id: '1f81eb52-5198-4599-803e-771906343485' },
  }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'webhook-signature',
  malformedValue: 'v1,???',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
