import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseSvix } from './svix.js';

describe('parseSvix', () => {
  it('parseSvix(Clerk user.created) takes svix-id as deliveryId and the ms timestamp', () => {
    const headers = {
      'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'svix-timestamp': '1654012591',
      'svix-signature': 'v1,x',
    };
    const event = parseSvix({ headers, body: fixture('svix-clerk-user-created.json') });
    expect(event).toMatchObject({
      providerId: 'svix',
      eventType: 'created',
      entityType: 'user',
      entityId: 'user_29w83sxmDNGwOuEthce5gg56FcC',
      deliveryId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: new Date(1654012591835),
    });
  });

  it('parseSvix(only webhook-* headers) falls back to webhook-id', () => {
    const event = parseSvix({ headers: { 'webhook-id': 'msg_1' }, body: fixture('svix-clerk-user-created.json') });
    expect(event.deliveryId).toBe('msg_1');
  });
});
