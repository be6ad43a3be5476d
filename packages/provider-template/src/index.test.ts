import { readFileSync } from 'node:fs';
import { runProviderConformance } from '@webhooks/testkit/vitest';
import { describe, expect, it } from 'vitest';
import acme, { parseAcme, signAcme } from './index.js';

// TODO: your provider's real payloads, captured or from its documentation, one file per event.
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

// The whole standard battery: broken headers, wrong secrets, flipped bytes, stale timestamps, ...
runProviderConformance(acme, {
  secrets: ['acme_whsec_first_0123456789', 'acme_whsec_second_0123456789'],
  samples: [
    { name: 'order.created', body: fixture('order-created.json') },
    { name: 'customer.updated', body: fixture('customer-updated.json') },
  ],
  sign: ({ body, secret, nowMs }) => ({
    headers: signAcme({ body, secret, timestamp: Math.floor(nowMs / 1000), deliveryId: 'dlv_5f7a9c1e' }),
    body,
  }),
  signatureHeader: 'acme-signature',
  malformedSignature: 'v1=not-hex',
  unprovenHeaders: ['content-type', 'acme-delivery'],
  freshness: { toleranceSeconds: 300 },
  unparseable: ['{}', '[]', '{"type":"order.created"}'],
});

// TODO: known answers from your provider's documentation, and what each fixture parses to.
describe('acme', () => {
  it('parseAcme(order.created) gives the order', () => {
    expect(parseAcme({ headers: { 'acme-delivery': 'dlv_1' }, body: fixture('order-created.json') })).toMatchObject({
      providerId: 'acme',
      eventType: 'created',
      entityType: 'order',
      entityId: 'ord_8f2c1e4b9a7d',
      deliveryId: 'dlv_1',
    });
  });

  it('answers a signed endpoint.verification with its challenge, and ignores an unsigned one', async () => {
    const body = '{"type":"endpoint.verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}';
    const secret = 'acme_whsec_first_0123456789';
    const signed = { headers: signAcme({ body, secret }), body };
    expect(await acme.handshake!(signed, { secrets: [secret] })).toMatchObject({
      status: 200,
      body: '{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
    });
    expect(await acme.handshake!({ headers: {}, body }, { secrets: [secret] })).toBeNull();
  });
});
