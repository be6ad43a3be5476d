import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseHubSpot } from './hubspot.js';
import { parseWebhook } from './index.js';

describe('parseHubSpot', () => {
  it('parseHubSpot(batch of three) gives one event per item, in order', () => {
    const events = parseHubSpot({ headers: { 'x-hubspot-signature-v3': 'x' }, body: fixture('hubspot-batch.json') });
    expect(events).toHaveLength(3);
    expect(events[0]).toStrictEqual({
      providerId: 'hubspot',
      eventType: 'creation',
      entityType: 'contact',
      entityId: '123',
      data: {
        eventId: 1923485716,
        subscriptionId: 2480123,
        portalId: 62515,
        appId: 1160452,
        occurredAt: 1710408600000,
        subscriptionType: 'contact.creation',
        attemptNumber: 0,
        objectId: 123,
        changeSource: 'CRM',
        changeFlag: 'NEW',
      },
      timestamp: new Date(1710408600000),
      deliveryId: '2480123:1923485716',
    });
    expect(events.map((event) => `${event.entityType}.${event.eventType}`)).toStrictEqual([
      'contact.creation',
      'contact.propertyChange',
      'deal.deletion',
    ]);
  });

  it("parseWebhook('hubspot', one event) still returns an array", () => {
    const body = '[{"eventId":1,"subscriptionType":"company.creation","objectId":9,"occurredAt":1710408600000}]';
    expect(parseWebhook('hubspot', { headers: {}, body })).toHaveLength(1);
  });

  it('parseHubSpot(generic object.creation with objectTypeId 0-3) gives entityType deal', () => {
    const body =
      '[{"eventId":2,"subscriptionType":"object.creation","objectTypeId":"0-3","objectId":77,"occurredAt":1}]';
    expect(parseHubSpot({ headers: {}, body })[0]?.entityType).toBe('deal');
  });

  it('parseHubSpot(associationChange) uses fromObjectId', () => {
    const body = JSON.stringify([
      {
        eventId: 3,
        subscriptionType: 'contact.associationChange',
        fromObjectId: 123,
        toObjectId: 456,
        associationType: 'CONTACT_TO_COMPANY',
        occurredAt: 1710408600000,
      },
    ]);
    expect(parseHubSpot({ headers: {}, body })[0]?.entityId).toBe('123');
  });

  it.each([
    ['an object instead of an array', '{"eventId":1,"subscriptionType":"contact.creation","objectId":1}'],
    ['an empty array', '[]'],
    ['an item without subscriptionType', '[{"eventId":1,"objectId":1}]'],
    ['an item without objectId', '[{"eventId":1,"subscriptionType":"contact.creation"}]'],
    ['a null item', '[null]'],
    ['a subscriptionType without a dot', '[{"eventId":1,"subscriptionType":"contact","objectId":1}]'],
  ])('parseHubSpot(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseHubSpot({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });

  it('parseHubSpot(1001 items) throws invalid_payload rather than doing the work', () => {
    const item = { eventId: 1, subscriptionType: 'contact.creation', objectId: 1, occurredAt: 1 };
    const body = JSON.stringify(Array.from({ length: 1001 }, () => item));
    expect(() => parseHubSpot({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
