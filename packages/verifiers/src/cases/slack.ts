import { signSlack } from '../slack.js';
import { type ProviderCase, prettyJson } from './types.js';

const sign = ({ body, secret, timestampMs }: { body: string | Uint8Array; secret: string; timestampMs: number }) => ({
  headers: signSlack({ body, secret, timestamp: Math.floor(timestampMs / 1000) }),
  body,
});

export const slackCase: ProviderCase = {
  provider: 'slack',
  secrets: ['8f742231b10e8888abcd99yyyzzz85a5', '0123456789abcdef0123456789abcdef'],
  body: prettyJson({
    type: 'event_callback',
    team_id: 'T123',
    event: { type: 'message', channel: 'C123', user: 'U123', ts: '1234567890.000001' },
    event_id: 'Ev123',
    event_time: 1234567890,
  }),
  sign: ({ body, secret, nowMs }) => sign({ body, secret, timestampMs: nowMs }),
  signatureHeader: 'x-slack-signature',
  malformedValue: 'v1=abc',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
  freshness: { toleranceSeconds: 300, resign: sign },
};
