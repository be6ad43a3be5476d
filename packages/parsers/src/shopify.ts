import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { header } from './internal/headers.js';
import { parseJsonObject, readRequest } from './internal/request.js';
import { afterLast, get, getId, getObject, getString, type JsonObject, singular, toDate } from './internal/values.js';

/** `products/create` or `customer.tags_added` as [resource, verb]. */
function splitTopic(topic: string): [string, string] | undefined {
  const slash = topic.indexOf('/');
  const at = slash === -1 ? topic.lastIndexOf('.') : slash;
  if (at <= 0 || at === topic.length - 1) return undefined;
  return [topic.slice(0, at), topic.slice(at + 1)];
}

/**
 * Shopify ids often exceed 2^53 and lose digits in JSON.parse, so the exact id is read from
 * `admin_graphql_api_id` (`gid://shopify/Product/788032119674292922`) when present.
 */
function entityIdOf(body: JsonObject): string | undefined {
  const gid = getString(body, 'admin_graphql_api_id');
  if (gid?.startsWith('gid://')) return afterLast(gid, '/');
  const customer = getObject(body, 'customer');
  return getId(body, 'id') ?? (customer === undefined ? undefined : getId(customer, 'id')) ?? getId(body, 'shop_id');
}

/**
 * Shopify: topic in `X-Shopify-Topic`. `products/create` gives entityType `product` (the resource
 * singularised: `inventory_items` is `inventory_item`, `companies` is `company`) and eventType
 * `create`. entityId is the body's id (GDPR topics: the customer id, else `shop_id`), data the
 * body, deliveryId `X-Shopify-Webhook-Id`, timestamp `X-Shopify-Triggered-At`, else `updated_at`.
 */
export const parseShopify = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const { headers, text } = readRequest(request);
  const body = parseJsonObject(text);
  const topic = header(headers, 'x-shopify-topic');
  const parts = topic === undefined ? undefined : splitTopic(topic);
  if (parts === undefined) throw invalidPayload('Missing or invalid X-Shopify-Topic');
  return makeEvent(
    'shopify',
    {
      eventType: parts[1],
      entityType: singular(parts[0]),
      entityId: entityIdOf(body),
      data: body,
      timestamp: toDate(header(headers, 'x-shopify-triggered-at'), 'ms') ?? toDate(get(body, 'updated_at'), 'ms'),
      deliveryId: header(headers, 'x-shopify-webhook-id'),
    },
    options,
  );
});
