import type { HandshakeResponse, VerifyOptions, VerifyResult, WebhookRequest } from '@webhooks/core';
import { bodyText, safeEqualString } from './internal/crypto.js';
import { fail, ok } from './internal/result.js';
import type { ProviderVerifier } from './internal/verifier.js';

const ORG_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
// The element with or without a namespace prefix; the closing tag must use the same prefix.
const ORG_ID_ELEMENT = /<((?:[A-Za-z_][\w.-]*:)?)OrganizationId(?:\s[^>]*)?>([^<]*)<\/\1OrganizationId\s*>/g;
const COMMENT = /<!--[\s\S]*?-->/g;
// Salesforce never sends a DTD; one in the body can only be an entity-expansion or XXE attempt.
const DTD = /<!(?:DOCTYPE|ENTITY)/i;

/**
 * Salesforce Outbound Messages (SOAP) are unsigned: the only evidence is the `OrganizationId` in
 * the body, compared with the configured org id on its first 15 characters (the 18-character form
 * only adds a case checksum). An org id is not a secret, so pair this with Salesforce's published IP
 * ranges or a client certificate. `options.secrets` plays no part.
 */
export function verifySalesforceOutbound(request: WebhookRequest, options: VerifyOptions): VerifyResult {
  const configured = options.salesforceOrganizationId;
  if (configured === undefined || configured.length === 0) {
    return fail('no_secret', 'No Salesforce organization id is configured (options.salesforceOrganizationId)');
  }
  if (!ORG_ID.test(configured)) {
    return fail('no_secret', 'The configured Salesforce organization id is not a 15- or 18-character id');
  }
  const text = bodyText(request.body);
  if (DTD.test(text)) return fail('malformed_header', 'The body carries a DTD, which Outbound Messages never do');
  const ids = new Set<string>();
  for (const match of text.replace(COMMENT, '').matchAll(ORG_ID_ELEMENT)) ids.add(match[2]!.trim());
  if (ids.size === 0) return fail('malformed_header', 'The body has no OrganizationId element');
  if (ids.size > 1) return fail('malformed_header', 'The body has more than one OrganizationId');
  const received = [...ids][0]!;
  if (!ORG_ID.test(received)) return fail('malformed_header', "The body's OrganizationId is not a Salesforce id");
  return safeEqualString(received.slice(0, 15), configured.slice(0, 15))
    ? ok(0)
    : fail('signature_mismatch', 'The OrganizationId is not the configured organization');
}

/** The answer Salesforce needs for every delivery, or it retries the message for up to 24 hours. */
export const SALESFORCE_OUTBOUND_ACK: HandshakeResponse = Object.freeze({
  status: 200,
  contentType: 'text/xml; charset=utf-8',
  body:
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
    '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">' +
    '<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>',
});

export interface SalesforceOutboundNotification {
  /** The notification id (`04l...`), the dedupe key. */
  id: string;
  sObjectType: string;
  /** Field values by API name; `Id` first by convention. */
  fields: Record<string, string | number | boolean>;
}

export interface SalesforceOutboundMessageInput {
  organizationId: string;
  notifications: SalesforceOutboundNotification[];
  actionId?: string;
}

const escapeXml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A SOAP body shaped like the ones Salesforce posts, for tests. */
export function salesforceOutboundMessage(input: SalesforceOutboundMessageInput): string {
  const org = escapeXml(input.organizationId);
  const base = `https://example.my.salesforce.com/services/Soap`;
  const notifications = input.notifications.map((notification) => {
    const type = escapeXml(notification.sObjectType);
    const fields = Object.entries(notification.fields)
      .map(([name, value]) => `     <sf:${escapeXml(name)}>${escapeXml(String(value))}</sf:${escapeXml(name)}>`)
      .join('\n');
    return [
      '   <Notification>',
      `    <Id>${escapeXml(notification.id)}</Id>`,
      `    <sObject xsi:type="sf:${type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`,
      fields,
      '    </sObject>',
      '   </Notification>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ' <soapenv:Body>',
    '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
    `   <OrganizationId>${org}</OrganizationId>`,
    `   <ActionId>${escapeXml(input.actionId ?? '04k5g000000XyZ1AAK')}</ActionId>`,
    '   <SessionId xsi:nil="true"/>',
    `   <EnterpriseUrl>${base}/c/60.0/${org.slice(0, 15)}</EnterpriseUrl>`,
    `   <PartnerUrl>${base}/u/60.0/${org.slice(0, 15)}</PartnerUrl>`,
    ...notifications,
    '  </notifications>',
    ' </soapenv:Body>',
    '</soapenv:Envelope>',
    '',
  ].join('\n');
}

export const salesforceOutbound: ProviderVerifier = { id: 'salesforce-outbound', verify: verifySalesforceOutbound };
