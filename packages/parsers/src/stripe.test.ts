import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseStripe } from './stripe.js';

describe('parseStripe', () => {
  it('parseStripe(customer.created) maps the object, event id and created time', () => {
    const event = parseStripe({
      headers: { 'stripe-signature': 't=1,v1=00' },
      body: fixture('stripe-customer-created.json'),
    });
    expect(event).toMatchObject({
      providerId: 'stripe',
      eventType: 'created',
      entityType: 'customer',
      entityId: 'cus_NffrFeUfNV2Hib',
      deliveryId: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
      timestamp: new Date(1686089970 * 1000),
    });
    expect(event.data).toMatchObject({ id: 'cus_NffrFeUfNV2Hib', email: 'jennyrosen@example.com' });
  });

  it('parseStripe(customer.subscription.updated) takes entityType from the object, not the type', () => {
    const body = JSON.stringify({
      id: 'evt_2',
      object: 'event',
      created: 1700000000,
      type: 'customer.subscription.updated',
      data: {
        object: { id: 'sub_1', object: 'subscription', status: 'active' },
        previous_attributes: { status: 'trialing' },
      },
    });
    const event = parseStripe({ headers: {}, body });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual(['subscription', 'updated', 'sub_1']);
  });

  it('parseStripe(balance.available, an object without id) uses the event id as entityId', () => {
    const body = JSON.stringify({
      id: 'evt_3',
      type: 'balance.available',
      created: 1700000000,
      data: { object: { object: 'balance', available: [] } },
    });
    expect(parseStripe({ headers: {}, body }).entityId).toBe('evt_3');
  });

  it('parseStripe(v2 thin event) takes the entity from related_object', () => {
    const body = JSON.stringify({
      id: 'evt_test_65R9Ijk8Ht1S6ZsE3Ij16R8B4DNHE7gU',
      object: 'v2.core.event',
      type: 'v1.billing.meter.error_report_triggered',
      created: '2024-09-17T06:20:52.246Z',
      related_object: {
        id: 'mtr_test_61R9IeKtFJfPbJ4oR41IXsNQ68eYPv',
        type: 'billing.meter',
        url: '/v1/billing/meters/mtr',
      },
    });
    const event = parseStripe({ headers: {}, body });
    expect(event).toMatchObject({
      eventType: 'error_report_triggered',
      entityType: 'billing.meter',
      entityId: 'mtr_test_61R9IeKtFJfPbJ4oR41IXsNQ68eYPv',
      data: {},
      timestamp: new Date('2024-09-17T06:20:52.246Z'),
    });
  });

  it.each([
    ['no data', '{"id":"evt_1","type":"customer.created"}'],
    ['no type', '{"id":"evt_1","data":{"object":{"id":"cus_1","object":"customer"}}}'],
    ['no id anywhere', '{"type":"balance.available","data":{"object":{"object":"balance"}}}'],
    ['data.object as an array', '{"id":"evt_1","type":"x.y","data":{"object":[]}}'],
  ])('parseStripe(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseStripe({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
