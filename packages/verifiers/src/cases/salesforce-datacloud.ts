import { signSalesforceDataCloud } from '../salesforce-datacloud.js';
import { type ProviderCase, prettyJson } from './types.js';

export const salesforceDataCloudCase: ProviderCase = {
  provider: 'salesforce-datacloud',
  secrets: ['datacloud-secret-key-1', 'datacloud-secret-key-2'],
  body: prettyJson({ events: [{ ObjectName__c: 'Contact', Id__c: '003xx000004TMM', ChangeType__c: 'UPDATE' }] }),
  sign: ({ body, secret }) => ({ headers: signSalesforceDataCloud({ body, secret }), body }),
  signatureHeader: 'x-signature',
  malformedValue: 'not base64!',
  bodyBound: true,
  signsAnyBytes: true,
  acceptsSeveralSignatures: true,
  usesSecrets: true,
};
