import { signGitHub } from '../github.js';
import { type ProviderCase, prettyJson } from './types.js';

export const githubCase: ProviderCase = {
  provider: 'github',
  secrets: ['It is a Secret to Everybody', 'second-github-secret'],
  body: prettyJson({ action: 'opened', issue: { number: 123, id: 1234567, title: 'Bug: Login fails on mobile' } }),
  sign: ({ body, secret }) => ({
    headers: { ...signGitHub({ body, secret, deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', event: 'issues' }) },
    body,
  }),
  signatureHeader: 'x-hub-signature-256',
  unprovenHeaders: ['x-github-delivery', 'x-github-event'],
  malformedValue: 'sha1=7d38cdd689735b008b3c702edd92eea23791c5f6',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
