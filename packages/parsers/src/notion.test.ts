import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseWebhook } from './index.js';
import { parseNotion } from './notion.js';

const now = Date.UTC(2025, 2, 14, 9, 30);

describe('parseNotion', () => {
  it("parseWebhook('notion', spec example) gives the spec's output without a deliveryId", () => {
    const properties = { Title: { title: [{ text: { content: 'New Page' } }] } };
    const body = JSON.stringify({ type: 'page.created', object: 'page', id: 'page-123', properties });
    expect(parseWebhook('notion', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'notion',
      eventType: 'created',
      entityType: 'page',
      entityId: 'page-123',
      data: properties,
      timestamp: new Date(now),
    });
  });

  it('parseNotion(real page.created delivery) maps entity, body id as deliveryId and body timestamp', () => {
    const event = parseNotion({
      headers: { 'x-notion-signature': 'sha256=00' },
      body: fixture('notion-page-created.json'),
    });
    expect(event).toStrictEqual({
      providerId: 'notion',
      eventType: 'created',
      entityType: 'page',
      entityId: '153104cd-477e-809d-8dc4-ff2d96ae3090',
      data: { parent: { id: '13950b26-c203-4f3b-b97d-93ec06319565', type: 'space' } },
      timestamp: new Date('2024-12-05T23:55:34.285Z'),
      deliveryId: '367cba44-b6f3-4c92-81e7-6a2e9659efd4',
    });
  });

  it('parseNotion(page.properties_updated) keeps the whole verb after the first dot', () => {
    const body = JSON.stringify({
      id: 'evt-1',
      timestamp: '2025-01-01T00:00:00.000Z',
      type: 'page.properties_updated',
      entity: { id: 'p-1', type: 'page' },
      data: { updated_properties: ['title'] },
    });
    expect(parseNotion({ headers: {}, body }).eventType).toBe('properties_updated');
  });

  it('parseNotion(comment.created without data) gives empty data', () => {
    const body = JSON.stringify({ id: 'evt-2', type: 'comment.created', entity: { id: 'c-1', type: 'comment' } });
    const event = parseNotion({ headers: {}, body });
    expect([event.entityType, event.entityId, event.data]).toStrictEqual(['comment', 'c-1', {}]);
  });

  it('parseNotion(verification_token request) throws invalid_payload with reason handshake', () => {
    expect(() => parseNotion({ headers: {}, body: '{"verification_token":"secret_abc"}' })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload', reason: 'handshake' }),
    );
  });

  it.each([
    ['entity without id', '{"id":"e","type":"page.created","entity":{"type":"page"}}'],
    ['no object and no entity', '{"type":"page.created","id":"p"}'],
    ['no type', '{"object":"page","id":"p"}'],
  ])('parseNotion(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseNotion({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
