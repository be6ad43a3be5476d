import { signLinear } from '../linear.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => {
  // Linear's freshness lives in the body, so a new timestamp means a new body.
  const payload = JSON.parse(String(body)) as Record<string, unknown>;
  const stamped = prettyJson({ ...payload, webhookTimestamp: timestampMs });
  return { headers: signLinear({ body: stamped, secret }), body: stamped };
};

export const linearCase: ProviderCase = {
  provider: 'linear',
  secrets: ['lin_wh_0123456789abcdef', 'lin_wh_fedcba9876543210'],
  body: prettyJson({
    action: 'create',
    type: 'Issue',
    data: { id: '2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9' },
    webhookId: 'wh_1',
  }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'linear-signature',
  malformedValue: 'sha256=abc',
  bodyBound: true,
  signsAnyBytes: false,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 60, resign: sign },
};
