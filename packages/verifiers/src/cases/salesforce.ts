import { signSalesforce } from '../salesforce.js';
import { type ProviderCase, prettyJson } from './types.js';

export const salesforceCase: ProviderCase = {
  provider: 'salesforce',
  secrets: ['whsec_salesforce_one', 'whsec_salesforce_two'],
  body: prettyJson({
    action: 'created',
    sobject: { name: 'Contact', fields: { Id: '003xx000004TMM', FirstName: 'John' } },
  }),
  sign: ({ body, secret }) => ({ headers: signSalesforce({ body, secret }), body }),
  signatureHeader: 'x-salesforce-event-signature',
  malformedValue: 'abc123',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
