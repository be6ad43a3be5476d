import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseShopify } from './shopify.js';

const headers = {
  'X-Shopify-Topic': 'products/create',
  'X-Shopify-Hmac-Sha256': 'XWmrwMey6OsLMeiZKwP4FppHH3cmAiiJJAweH5Jo4bM=',
  'X-Shopify-Shop-Domain': 'acme.myshopify.com',
  'X-Shopify-API-Version': '2025-01',
  'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'X-Shopify-Triggered-At': '2025-03-14T09:30:00.123Z',
  'X-Shopify-Event-Id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
};

describe('parseShopify', () => {
  it('parseShopify(products/create) gives product/create, the exact id and X-Shopify-Webhook-Id', () => {
    const event = parseShopify({ headers, body: fixture('shopify-products-create.json') });
    expect(event).toMatchObject({
      providerId: 'shopify',
      eventType: 'create',
      entityType: 'product',
      // 788032119674292922 is beyond 2^53: the id comes from admin_graphql_api_id, digit for digit.
      entityId: '788032119674292922',
      deliveryId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      timestamp: new Date('2025-03-14T09:30:00.123Z'),
    });
  });

  it.each([
    ['orders/paid', { id: 450789469 }, 'order', 'paid', '450789469'],
    ['inventory_items/update', { id: 271878346 }, 'inventory_item', 'update', '271878346'],
    ['companies/create', { id: 1 }, 'company', 'create', '1'],
    ['customer.tags_added', { id: 5 }, 'customer', 'tags_added', '5'],
    ['customers/redact', { shop_id: 954889, customer: { id: 191167 } }, 'customer', 'redact', '191167'],
    ['shop/redact', { shop_id: 954889, shop_domain: 'acme.myshopify.com' }, 'shop', 'redact', '954889'],
    ['app/uninstalled', { id: 548380009, name: 'Acme' }, 'app', 'uninstalled', '548380009'],
  ])('parseShopify(%s) maps the topic', (topic, body, entityType, eventType, entityId) => {
    const event = parseShopify({ headers: { 'x-shopify-topic': topic }, body: JSON.stringify(body) });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual([entityType, eventType, entityId]);
    expect(event.deliveryId).toBeUndefined();
  });

  it.each([
    ['no topic header', {}, '{"id":1}'],
    ['a topic without a verb', { 'x-shopify-topic': 'products' }, '{"id":1}'],
    ['no id', { 'x-shopify-topic': 'products/create' }, '{"title":"x"}'],
    ['an unsafe integer id without graphql id', { 'x-shopify-topic': 'products/create' }, '{"id":788032119674292922}'],
  ])('parseShopify(%s) throws invalid_payload', (_name, requestHeaders, body) => {
    expect(() => parseShopify({ headers: requestHeaders, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
