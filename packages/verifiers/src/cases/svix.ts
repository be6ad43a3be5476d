import { signSvix } from '../svix.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signSvix({ body, secret, id: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', timestamp: Math.floor(timestampMs / 1000) }),
  body,
});

export const svixCase: ProviderCase = {
  provider: 'svix',
  secrets: ['whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD', 'whsec_c3ZpeC1zZWNvbmQtc2VjcmV0'],
  body: prettyJson({ type: 'invoice.paid', data: { id: 'invoice_WF7WtCLFFtd8ubcTgboSFNql' } }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'svix-signature',
  malformedValue: 'v1,',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
