import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseSalesforceOutbound } from './salesforce-outbound.js';

const envelope = (notifications: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g000004Xy7ZEAS</OrganizationId>${notifications}</notifications></soapenv:Body></soapenv:Envelope>`;
const contact = (id: string, fields = '') =>
  `<Notification><Id>04l${id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003${id}</sf:Id>${fields}</sObject></Notification>`;

describe('parseSalesforceOutbound', () => {
  it('parseSalesforceOutbound(two notifications) gives one event each with Notification/Id as deliveryId', () => {
    const events = parseSalesforceOutbound({
      headers: { 'content-type': 'text/xml' },
      body: fixture('salesforce-outbound.xml'),
    });
    expect(events).toHaveLength(2);
    expect(events[0]).toStrictEqual({
      providerId: 'salesforce-outbound',
      eventType: 'updated',
      entityType: 'Contact',
      entityId: '003xx000004TMMAAA4',
      data: {
        Email: 'john.doe@example.com',
        FirstName: 'John',
        LastModifiedDate: '2025-03-14T09:30:00.000Z',
        LastName: "O'Doe & Sons",
        MobilePhone: null,
      },
      timestamp: new Date('2025-03-14T09:30:00.000Z'),
      deliveryId: '04l5g00000AbCdEAAV',
    });
  });

  it('parseSalesforceOutbound(CDATA and character references) decodes them', () => {
    const [, second] = parseSalesforceOutbound({ headers: {}, body: fixture('salesforce-outbound.xml') });
    expect(second?.data).toStrictEqual({ Email: 'jane.roe@example.com', FirstName: 'Jane <J.>', LastName: 'Roé' });
  });

  it('parseSalesforceOutbound(other sObject types and prefixes) reads xsi:type whatever the prefix', () => {
    const body = envelope(
      '<Notification><Id>04lA</Id><sObject xmlns:ns="http://www.w3.org/2001/XMLSchema-instance" ns:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006A</sf:Id><sf:Amount>1000.0</sf:Amount></sObject></Notification>',
    );
    const [event] = parseSalesforceOutbound({ headers: {}, body });
    expect([event?.entityType, event?.entityId, event?.data]).toStrictEqual([
      'Opportunity',
      '006A',
      { Amount: '1000.0' },
    ]);
  });

  it.each([
    [
      'a DOCTYPE',
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope(contact('a', '<sf:Name>&xxe;</sf:Name>'))}`,
    ],
    ['an undeclared entity', envelope(contact('a', '<sf:Name>&xxe;</sf:Name>'))],
    ['a bare ampersand', envelope(contact('a', '<sf:Name>A & B</sf:Name>'))],
    ['a reference to an invalid character', envelope(contact('a', '<sf:Name>&#0;</sf:Name>'))],
    ['mismatched tags', envelope(contact('a', '<sf:Name>x</sf:Nome>'))],
    ['an unclosed document', envelope(contact('a')).slice(0, -20)],
    ['no notifications', envelope('')],
    ['a notification without sObject', envelope('<Notification><Id>04l</Id></Notification>')],
    [
      'an sObject without xsi:type',
      envelope('<Notification><Id>04l</Id><sObject><Id>003</Id></sObject></Notification>'),
    ],
    ['an sObject without Id', envelope('<Notification><Id>04l</Id><sObject xsi:type="sf:Contact"/></Notification>')],
    ['JSON', '{"notifications":[]}'],
    ['a different SOAP body', '<Envelope><Body><somethingElse/></Body></Envelope>'],
    ['text after the root', `${envelope(contact('a'))}trailing`],
    ['two roots', `${envelope(contact('a'))}<again/>`],
  ])('parseSalesforceOutbound(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseSalesforceOutbound({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });

  it('parseSalesforceOutbound(101 notifications) accepts a full batch', () => {
    const body = envelope(Array.from({ length: 101 }, (_, i) => contact(String(i))).join(''));
    expect(parseSalesforceOutbound({ headers: {}, body })).toHaveLength(101);
  });

  it('parseSalesforceOutbound(1001 notifications) throws invalid_payload', () => {
    const body = envelope(Array.from({ length: 1001 }, (_, i) => contact(String(i))).join(''));
    expect(() => parseSalesforceOutbound({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });

  it('parseSalesforceOutbound(element named __proto__) never reaches Object.prototype', () => {
    const body = envelope(
      contact('a', '<sf:__proto__><sf:polluted>yes</sf:polluted></sf:__proto__><sf:constructor>c</sf:constructor>'),
    );
    const [event] = parseSalesforceOutbound({ headers: {}, body });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(event?.data)).toBe(Object.prototype);
    expect(event?.data).toStrictEqual({ constructor: 'c' });
  });
});
