import { signZoom } from '../zoom.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signZoom({ body, secret, timestamp: Math.floor(timestampMs / 1000) }),
  body,
});

export const zoomCase: ProviderCase = {
  provider: 'zoom',
  secrets: ['zoom-secret-token-one', 'zoom-secret-token-two'],
  body: prettyJson({ event: 'meeting.started', event_ts: 1764331200000, payload: { object: { id: '85746065' } } }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'x-zm-signature',
  malformedValue: 'v0=not-hex',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
