import { signNotion } from '../notion.js';
import { type ProviderCase, prettyJson } from './types.js';

export const notionCase: ProviderCase = {
  provider: 'notion',
  secrets: ['secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl', 'secret_second'],
  body: prettyJson({
    id: '367cba44-b6f3-4c92-81e7-6a2e9659efd4',
    timestamp: '2024-12-05T23:55:34.285Z',
    type: 'page.created',
    entity: { id: '153104cd-477e-809d-8dc4-ff2d96ae3090', type: 'page' },
    data: { parent: { id: '13950b26-c203-4f3b-b97d-93ec06319565', type: 'space' } },
  }),
  sign: ({ body, secret }) => ({ headers: signNotion({ body, secret }), body }),
  signatureHeader: 'x-notion-signature',
  malformedValue: 'sha256=zz',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
