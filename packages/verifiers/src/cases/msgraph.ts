import { type MsGraphNotification, signMsGraph } from '../msgraph.js';
import { type ProviderCase, prettyJson } from './types.js';

const notifications: MsGraphNotification[] = [
  {
    subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
    subscriptionExpirationDateTime: '2026-11-30T18:23:45.9356913+00:00',
    changeType: 'created',
    resource: 'Users/b9c5a0a3-0f3b-4b6f-8e0d-2a6a7f3c2b1e/Messages/AAMkAGUwNjQ4ZjIxAAA=',
    resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: 'AAMkAGUwNjQ4ZjIxAAA=' },
    tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
  },
];

export const msgraphCase: ProviderCase = {
  provider: 'msgraph',
  secrets: ['secretClientValue-4f1c', 'secretClientValue-9a2e'],
  body: prettyJson({ value: notifications }),
  // The proof is the clientState inside the body, so signing rewrites the body.
  sign: ({ secret }) => ({ headers: {}, body: signMsGraph({ notifications, secret }) }),
  malformedValue: '',
  bodyBound: false,
  signsAnyBytes: false,
  acceptsSeveralSignatures: false,
  usesSecrets: true,
};
