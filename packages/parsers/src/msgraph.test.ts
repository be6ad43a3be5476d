import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseMsGraph } from './msgraph.js';

describe('parseMsGraph', () => {
  it('parseMsGraph(two notifications) gives one event each, typed from @odata.type or the resource', () => {
    const events = parseMsGraph({ headers: {}, body: fixture('msgraph-messages.json') });
    expect(events.map((event) => [event.eventType, event.entityType, event.entityId])).toStrictEqual([
      ['created', 'message', 'AAMkAGUwNjQ4ZjIxAAA='],
      ['deleted', 'event', 'AAMkAGI2TG93AAA='],
    ]);
  });

  it('parseMsGraph(notification) never puts clientState in data', () => {
    const text = fixture('msgraph-messages.json');
    for (const event of parseMsGraph({ headers: {}, body: text })) {
      expect(event.data).not.toHaveProperty('clientState');
      expect(JSON.stringify(event)).not.toContain('secretClientValue');
      expect(event.data).toHaveProperty('tenantId', 'bb8775a4-4d8c-42cf-a1d4-4d58c2bb668f');
    }
  });

  it('parseMsGraph(notification with etag) derives a stable deliveryId; without etag it has none', () => {
    const text = fixture('msgraph-messages.json');
    const [first, second] = parseMsGraph({ headers: {}, body: text });
    expect(first?.deliveryId).toMatch(/^[0-9a-f]{64}$/);
    expect(parseMsGraph({ headers: {}, body: text })[0]?.deliveryId).toBe(first?.deliveryId);
    expect(second?.deliveryId).toBeUndefined();
  });

  it('parseMsGraph(a new etag for the same resource) gives a different deliveryId', () => {
    const item = (etag: string) => ({
      subscriptionId: 's',
      changeType: 'updated',
      resource: 'me/events/E1',
      resourceData: { id: 'E1', '@odata.etag': etag },
    });
    const [a] = parseMsGraph({ headers: {}, body: JSON.stringify({ value: [item('W/"1"')] }) });
    const [b] = parseMsGraph({ headers: {}, body: JSON.stringify({ value: [item('W/"2"')] }) });
    expect(a?.deliveryId).not.toBe(b?.deliveryId);
  });

  it("parseMsGraph(Teams channel message with OData keys) types it from the resource's last collection", () => {
    const body = JSON.stringify({
      value: [
        {
          subscriptionId: 's',
          changeType: 'created',
          resource: "teams('fbe2bf47')/channels('19:4a95f7d8@thread.tacv2')/messages('1612289765949')",
          resourceData: { id: '1612289765949' },
        },
      ],
    });
    expect(parseMsGraph({ headers: {}, body })[0]?.entityType).toBe('message');
  });

  it('parseMsGraph(lifecycle notification) gives entityType subscription and the lifecycleEvent', () => {
    const body = JSON.stringify({
      value: [
        {
          subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
          subscriptionExpirationDateTime: '2025-03-16T18:23:45.93+00:00',
          tenantId: 'bb8775a4',
          clientState: 'secretClientValue',
          lifecycleEvent: 'reauthorizationRequired',
        },
      ],
    });
    const [event] = parseMsGraph({ headers: {}, body });
    expect(event).toMatchObject({ eventType: 'reauthorizationRequired', entityType: 'subscription' });
    expect(event?.data).not.toHaveProperty('clientState');
  });

  it('parseMsGraph(validationToken request with empty body) throws invalid_payload with reason handshake', () => {
    const request = {
      headers: {},
      body: '',
      url: 'https://hooks.example.com/webhooks/r1?validationToken=Validation%3a+Testing',
    };
    expect(() => parseMsGraph(request)).toThrowError(expect.objectContaining({ reason: 'handshake' }));
  });

  it.each([
    ['no value', '{}'],
    ['an empty value', '{"value":[]}'],
    ['value as an object', '{"value":{"subscriptionId":"s"}}'],
    ['an item without changeType', '{"value":[{"subscriptionId":"s","resource":"me/events/1"}]}'],
    ['an item without subscriptionId', '{"value":[{"changeType":"created","resource":"me/events/1"}]}'],
  ])('parseMsGraph(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseMsGraph({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
