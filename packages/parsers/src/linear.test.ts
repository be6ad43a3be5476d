import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseLinear } from './linear.js';

describe('parseLinear', () => {
  it('parseLinear(Issue create) maps action, type, data.id, Linear-Delivery and webhookTimestamp', () => {
    const headers = {
      'Linear-Delivery': '234d1a4e-b617-4388-90fe-adc3633d6b72',
      'Linear-Event': 'Issue',
      'Linear-Signature': 'x',
    };
    const event = parseLinear({ headers, body: fixture('linear-issue-create.json') });
    expect(event).toMatchObject({
      providerId: 'linear',
      eventType: 'create',
      entityType: 'Issue',
      entityId: '2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9',
      deliveryId: '234d1a4e-b617-4388-90fe-adc3633d6b72',
      timestamp: new Date(1741944600123),
      data: { identifier: 'ENG-1434', title: 'Login fails on mobile' },
    });
  });

  it('parseLinear(OAuth app revoked, no data) uses the organization id', () => {
    const body = JSON.stringify({
      action: 'revoked',
      type: 'OAuthApp',
      organizationId: 'org-1',
      oauthClientId: 'c-1',
      createdAt: '2025-01-01T00:00:00Z',
    });
    const event = parseLinear({ headers: {}, body });
    expect([event.entityType, event.entityId, event.data]).toStrictEqual(['OAuthApp', 'org-1', {}]);
  });

  it.each([
    ['no action', '{"type":"Issue","data":{"id":"1"}}'],
    ['no type', '{"action":"create","data":{"id":"1"}}'],
    ['no id anywhere', '{"action":"create","type":"Issue","data":{}}'],
  ])('parseLinear(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseLinear({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
