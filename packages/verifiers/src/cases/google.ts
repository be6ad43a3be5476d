import { exportJWK, generateKeyPair } from 'jose';
import { googleHeaders, signGooglePushToken } from '../google.js';
import { NOW_MS, type ProviderCase, prettyJson } from './types.js';

const AUDIENCE = 'https://hooks.example.com/webhooks/reg_google';
const EMAIL = 'pubsub-push@example-project.iam.gserviceaccount.com';
const KID = 'battery-key';

// The token is signed once (jose signs asynchronously; the battery's `sign` is synchronous).
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
const token = await signGooglePushToken({ privateKey, kid: KID, audience: AUDIENCE, email: EMAIL, nowMs: NOW_MS });

export const googleCase: ProviderCase = {
  provider: 'google',
  // Unused: the token is proved by Google's keys and the configured service account.
  secrets: ['unused-one', 'unused-two'],
  body: prettyJson({
    message: {
      data: 'eyJyZXNvdXJjZU5hbWUiOiJwZW9wbGUvYzEyMyJ9',
      messageId: '2070443601311540',
      publishTime: '2021-02-26T19:13:55.749Z',
    },
    subscription: 'projects/example-project/subscriptions/push-sub',
  }),
  sign: ({ body, nowMs }) => {
    if (nowMs !== NOW_MS) throw new Error('the google case signs its token at NOW_MS only');
    return { headers: googleHeaders(token), body, url: AUDIENCE };
  },
  signatureHeader: 'authorization',
  malformedValue: 'Basic dXNlcjpwYXNz',
  options: { google: { audience: AUDIENCE, serviceAccountEmail: EMAIL, jwks } },
  bodyBound: false,
  signsAnyBytes: false,
  // Two different Authorization headers are ambiguous, so they are refused.
  acceptsSeveralSignatures: false,
  usesSecrets: false,
};
