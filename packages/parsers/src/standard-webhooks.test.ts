import { describe, expect, it } from 'vitest';
import { parseStandardWebhooks } from './standard-webhooks.js';

const headers = {
  'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
  'webhook-timestamp': '1674087231',
  'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
};

describe('parseStandardWebhooks', () => {
  it('parseStandardWebhooks(spec example payload) maps type, data.id, webhook-id and the ISO timestamp', () => {
    const body = JSON.stringify({
      type: 'contact.created',
      timestamp: '2022-11-03T20:26:10.344522Z',
      data: { id: '1f81eb52-5198-4599-803e-771906343485', type: 'contact' },
    });
    expect(parseStandardWebhooks({ headers, body })).toStrictEqual({
      providerId: 'standard-webhooks',
      eventType: 'created',
      entityType: 'contact',
      entityId: '1f81eb52-5198-4599-803e-771906343485',
      data: { id: '1f81eb52-5198-4599-803e-771906343485', type: 'contact' },
      timestamp: new Date('2022-11-03T20:26:10.344Z'),
      deliveryId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
    });
  });

  it('parseStandardWebhooks(data without id) uses <entityType>_id, then the message id', () => {
    const withEmailId = JSON.stringify({
      type: 'email.sent',
      timestamp: '2024-01-01T00:00:00Z',
      data: { email_id: 'em_1' },
    });
    expect(parseStandardWebhooks({ headers, body: withEmailId }).entityId).toBe('em_1');
    const bare = JSON.stringify({ type: 'ping', data: {} });
    const event = parseStandardWebhooks({ headers, body: bare });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual(['ping', 'ping', headers['webhook-id']]);
    expect(event.timestamp).toStrictEqual(new Date(1674087231 * 1000));
  });

  it('parseStandardWebhooks(multi-segment type) splits at the last dot', () => {
    const body = JSON.stringify({
      type: 'invoice.payment.failed',
      timestamp: '2024-01-01T00:00:00Z',
      data: { id: 'in_1' },
    });
    const event = parseStandardWebhooks({ headers, body });
    expect([event.entityType, event.eventType]).toStrictEqual(['invoice.payment', 'failed']);
  });

  it.each([
    ['no type', '{"timestamp":"2024-01-01T00:00:00Z","data":{"id":"1"}}'],
    ['no data', '{"type":"a.b","timestamp":"2024-01-01T00:00:00Z"}'],
    ['data as a string', '{"type":"a.b","data":"x"}'],
  ])('parseStandardWebhooks(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseStandardWebhooks({ headers, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });

  it('parseStandardWebhooks(no id anywhere) throws invalid_payload', () => {
    expect(() => parseStandardWebhooks({ headers: {}, body: '{"type":"a.b","data":{}}' })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
