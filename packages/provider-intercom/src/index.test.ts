import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isWebhookProvider } from '@webhooks/core';
import { runProviderConformance } from '@webhooks/testkit/vitest';
import { describe, expect, it } from 'vitest';
import intercom, { intercomDedupeKey, parseIntercom, signIntercom, verifyIntercom } from './index.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const SECRET = 'a1b2c3d4-intercom-client-secret';

runProviderConformance(intercom, {
  secrets: [SECRET, 'a-different-client-secret'],
  samples: [
    { name: 'conversation.user.created', body: fixture('conversation-user-created.json') },
    { name: 'contact.user.created', body: fixture('contact-user-created.json') },
  ],
  sign: ({ body, secret }) => ({ headers: signIntercom({ body, secret }), body }),
  signatureHeader: 'x-hub-signature',
  malformedSignature: 'sha256=21ff2e149e0fdcac6f947740f6177f6434bda921',
  unprovenHeaders: ['content-type'],
  unparseable: ['{}', '{"type":"notification_event","topic":"contact.created"}', 'not json'],
});

describe('intercom', () => {
  it('is a WebhookProvider with the id the receiver registers it under', () => {
    expect(isWebhookProvider(intercom)).toBe(true);
    expect(intercom.id).toBe('intercom');
  });

  it('signIntercom(body, secret) is sha1=<hex HMAC-SHA1 of the raw body>, as Intercom documents', () => {
    const body = fixture('contact-user-created.json');
    const expected = createHmac('sha1', SECRET).update(body).digest('hex');
    expect(signIntercom({ body, secret: SECRET })['x-hub-signature']).toBe(`sha1=${expected}`);
  });

  it('verifyIntercom accepts an upper-case hex digest', async () => {
    const body = fixture('contact-user-created.json');
    const signature = signIntercom({ body, secret: SECRET })['x-hub-signature']!;
    const upper = `sha1=${signature.slice(5).toUpperCase()}`;
    expect(await verifyIntercom({ headers: { 'X-Hub-Signature': upper }, body }, { secrets: [SECRET] })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });

  it('parseIntercom gives the conversation, its topic verb and the notification id', () => {
    const event = parseIntercom({ headers: {}, body: fixture('conversation-user-created.json') });
    expect(event).toMatchObject({
      providerId: 'intercom',
      eventType: 'created',
      entityType: 'conversation',
      entityId: '147',
      deliveryId: 'notif_8e5d0a12-b6e1-4a7c-9f3d-2c1b0a9e8d7f',
    });
    expect(event.timestamp.toISOString()).toBe('2025-11-28T11:59:59.000Z');
  });

  it('dedupeKey is the notification id, and undefined for a body without one', () => {
    expect(intercomDedupeKey({ headers: {}, body: fixture('contact-user-created.json') })).toBe(
      'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
    );
    expect(intercomDedupeKey({ headers: {}, body: 'not json' })).toBeUndefined();
  });

  it('answers a signed ping, and ignores an unsigned one', async () => {
    const body = fixture('ping.json');
    const signed = { headers: signIntercom({ body, secret: SECRET }), body };
    expect(await intercom.handshake!(signed, { secrets: [SECRET] })).toMatchObject({ status: 200 });
    expect(await intercom.handshake!({ headers: {}, body }, { secrets: [SECRET] })).toBeNull();
    expect(await intercom.handshake!(signed, { secrets: ['wrong-secret-000'] })).toBeNull();
  });
});
