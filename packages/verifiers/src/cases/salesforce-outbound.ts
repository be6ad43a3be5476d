import { salesforceOutboundMessage } from '../salesforce-outbound.js';
import type { ProviderCase } from './types.js';

const ORGANIZATION_ID = '00D5g000004ABCDEAA';

export const salesforceOutboundCase: ProviderCase = {
  provider: 'salesforce-outbound',
  // Unused: the proof is the OrganizationId in the SOAP body.
  secrets: ['unused-one', 'unused-two'],
  body: salesforceOutboundMessage({
    organizationId: ORGANIZATION_ID,
    notifications: [
      { id: '04l5g000001AbCdAAK', sObjectType: 'Contact', fields: { Id: '0035g00000XyZ12AAB', FirstName: 'John' } },
    ],
  }),
  sign: ({ body }) => ({ headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body }),
  unprovenHeaders: ['content-type', 'soapaction'],
  malformedValue: '',
  options: { salesforceOrganizationId: ORGANIZATION_ID },
  bodyBound: false,
  signsAnyBytes: false,
  acceptsSeveralSignatures: false,
  usesSecrets: false,
};
