import { signTwilio, twilioJsonUrl } from '../twilio.js';
import { type ProviderCase, prettyJson } from './types.js';

const WEBHOOK_URL = 'https://hooks.example.com/webhooks/reg_twilio?tenant=acme';

// A JSON body, so Twilio binds it through bodySHA256 in the URL and the signature covers the URL.
export const twilioCase: ProviderCase = {
  provider: 'twilio',
  secrets: ['12345678901234567890123456789012', 'abcdefabcdefabcdefabcdefabcdefab'],
  body: prettyJson({ CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', CallStatus: 'completed' }),
  sign: ({ body, secret }) => {
    const url = twilioJsonUrl(WEBHOOK_URL, body);
    return { headers: signTwilio({ url, body, secret }), body, url };
  },
  signatureHeader: 'x-twilio-signature',
  unprovenHeaders: ['content-type'],
  malformedValue: 'sha1=not-base64',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
