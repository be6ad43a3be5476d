import { signGoogleCalendar } from '../google-calendar.js';
import type { ProviderCase } from './types.js';

export const googleCalendarCase: ProviderCase = {
  provider: 'google-calendar',
  secrets: ['channel-token-8f2c1e4b9a7d', 'channel-token-second-3c6d'],
  // Calendar notifications have an empty body: everything is in the X-Goog-* headers.
  body: '',
  sign: ({ body, secret }) => ({
    headers: signGoogleCalendar({ secret, resourceState: 'exists', messageNumber: 7 }),
    body,
  }),
  signatureHeader: 'x-goog-channel-token',
  unprovenHeaders: [
    'x-goog-channel-id',
    'x-goog-resource-state',
    'x-goog-message-number',
    'x-goog-resource-id',
    'x-goog-resource-uri',
  ],
  malformedValue: 'x'.repeat(257),
  bodyBound: false,
  signsAnyBytes: false,
  // Two different channel tokens are ambiguous, so they are refused.
  acceptsSeveralSignatures: false,
  usesSecrets: true,
};
