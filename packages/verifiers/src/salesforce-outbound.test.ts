import { describe, expect, it } from 'vitest';
import { verifyWebhook } from './index.js';
import { SALESFORCE_OUTBOUND_ACK, salesforceOutboundMessage } from './salesforce-outbound.js';

const ORG_18 = '00D5g000004ABCDEAA';
const ORG_15 = ORG_18.slice(0, 15);
const NOTIFICATION = {
  id: '04l5g000001AbCdAAK',
  sObjectType: 'Contact',
  fields: { Id: '0035g00000XyZ12AAB', LastName: 'Doe' },
};

const message = (organizationId = ORG_18) =>
  salesforceOutboundMessage({ organizationId, notifications: [NOTIFICATION] });
const verify = (body: string | Uint8Array, salesforceOrganizationId: string | undefined = ORG_18) =>
  verifyWebhook(
    'salesforce-outbound',
    { headers: { 'content-type': 'text/xml; charset=utf-8' }, body },
    {
      secrets: [],
      salesforceOrganizationId,
    },
  );

// An Outbound Message as Salesforce documents it, with the ns1 prefix some orgs' messages carry.
const PREFIXED = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <ns1:notifications xmlns:ns1="http://soap.sforce.com/2005/09/outbound">
   <ns1:OrganizationId>${ORG_18}</ns1:OrganizationId>
   <ns1:ActionId>04k5g000000XyZ1AAK</ns1:ActionId>
   <ns1:SessionId xsi:nil="true"/>
   <ns1:Notification>
    <ns1:Id>04l5g000001AbCdAAK</ns1:Id>
    <ns1:sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0035g00000XyZ12AAB</sf:Id>
    </ns1:sObject>
   </ns1:Notification>
  </ns1:notifications>
 </soapenv:Body>
</soapenv:Envelope>`;

describe('verifyWebhook(salesforce-outbound, ...)', () => {
  it('accepts a message from the configured organization, ignoring secrets', async () => {
    expect(await verify(message())).toEqual({ ok: true, secretIndex: 0 });
  });

  it('accepts a namespace-prefixed OrganizationId', async () => {
    expect(await verify(PREFIXED)).toMatchObject({ ok: true });
  });

  it('compares a 15-character id with an 18-character one on the first 15 characters, both ways', async () => {
    expect(await verify(message(ORG_18), ORG_15)).toMatchObject({ ok: true });
    expect(await verify(message(ORG_15), ORG_18)).toMatchObject({ ok: true });
  });

  it('rejects an id that differs only in letter case, since ids are case-sensitive', async () => {
    expect(await verify(message('00D5g000004abcdEAA'))).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects another organization with signature_mismatch', async () => {
    expect(await verify(message('00D5g000009ZZZZEAA'))).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('fails with no_secret when no organization id is configured, or it is not an id', async () => {
    const unconfigured = { headers: {}, body: message() };
    expect(await verifyWebhook('salesforce-outbound', unconfigured, { secrets: [ORG_18] })).toMatchObject({
      reason: 'no_secret',
    });
    expect(await verify(message(), '')).toMatchObject({ reason: 'no_secret' });
    expect(await verify(message(), 'not-an-org-id')).toMatchObject({ reason: 'no_secret' });
  });

  it('fails with malformed_header, about the body, without an OrganizationId', async () => {
    const result = await verify(message().replace(/<OrganizationId>.*<\/OrganizationId>/, ''));
    expect(result).toMatchObject({ ok: false, reason: 'malformed_header' });
    if (!result.ok) expect(result.message).toContain('body');
  });

  it('fails with malformed_header for two different OrganizationIds', async () => {
    const two = message().replace('<ActionId>', '<OrganizationId>00D5g000009ZZZZEAA</OrganizationId><ActionId>');
    expect(await verify(two)).toMatchObject({ reason: 'malformed_header' });
  });

  it('accepts a repeated OrganizationId with the same value', async () => {
    const twice = message().replace('<ActionId>', `<OrganizationId>${ORG_18}</OrganizationId><ActionId>`);
    expect(await verify(twice)).toMatchObject({ ok: true });
  });

  it('ignores an OrganizationId inside a comment', async () => {
    const commented = message('00D5g000009ZZZZEAA').replace(
      '<ActionId>',
      `<!-- <OrganizationId>${ORG_18}</OrganizationId> --><ActionId>`,
    );
    expect(await verify(commented)).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('fails with malformed_header for an OrganizationId that is not an id', async () => {
    expect(await verify(message('00D5g000004ABCDEAA; DROP'))).toMatchObject({ reason: 'malformed_header' });
  });

  it('fails with malformed_header for a body with a DOCTYPE or an ENTITY', async () => {
    const doctype = message().replace(
      '<soapenv:Envelope',
      '<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]><soapenv:Envelope',
    );
    expect(await verify(doctype)).toMatchObject({ reason: 'malformed_header' });
    expect(await verify(message().replace('<soapenv:Body>', '<!ENTITY a "b"><soapenv:Body>'))).toMatchObject({
      reason: 'malformed_header',
    });
  });

  it('accepts the body as bytes', async () => {
    expect(await verify(new TextEncoder().encode(message()))).toMatchObject({ ok: true });
  });

  it('salesforceOutboundMessage escapes field values', () => {
    const body = salesforceOutboundMessage({
      organizationId: ORG_18,
      notifications: [
        {
          ...NOTIFICATION,
          fields: { Id: '0035g00000XyZ12AAB', Description: '<OrganizationId>x</OrganizationId> & co' },
        },
      ],
    });
    expect(body).toContain('<sf:Description>&lt;OrganizationId&gt;x&lt;/OrganizationId&gt; &amp; co</sf:Description>');
  });
});

describe('SALESFORCE_OUTBOUND_ACK', () => {
  it('is the SOAP notificationsResponse with Ack true, as text/xml', () => {
    expect(SALESFORCE_OUTBOUND_ACK.status).toBe(200);
    expect(SALESFORCE_OUTBOUND_ACK.contentType).toMatch(/^text\/xml/);
    expect(SALESFORCE_OUTBOUND_ACK.body).toContain(
      '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>',
    );
  });
});
