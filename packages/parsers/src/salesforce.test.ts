import type { WebhookError } from '@webhooks/core';
import { describe, expect, it } from 'vitest';
import { parseWebhook } from './index.js';
import { parseSalesforce } from './salesforce.js';

const now = Date.UTC(2025, 2, 14, 9, 30);

describe('parseSalesforce', () => {
  it("parseWebhook('salesforce', spec example) gives the spec's output", () => {
    const body =
      '{"action":"created","sobject":{"name":"Contact","fields":{"Id":"003xx000004TMM","FirstName":"John"}}}';
    expect(parseWebhook('salesforce', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'salesforce',
      eventType: 'created',
      entityType: 'Contact',
      entityId: '003xx000004TMM',
      data: { FirstName: 'John' },
      timestamp: new Date(now),
    });
  });

  it('parseSalesforce(setup-guide payload) keeps every field but Id in data and sends no deliveryId', () => {
    const body = JSON.stringify({
      action: 'updated',
      sobject: {
        name: 'Contact',
        fields: { Id: '003xx000004TMM', FirstName: 'John', LastName: 'Doe', Email: 'john.doe@example.com' },
      },
    });
    const event = parseSalesforce({ headers: { 'x-salesforce-event-signature': 'sha256=00' }, body });
    expect(event.eventType).toBe('updated');
    expect(event.data).toStrictEqual({ FirstName: 'John', LastName: 'Doe', Email: 'john.doe@example.com' });
    expect(event.deliveryId).toBeUndefined();
    expect('deliveryId' in event).toBe(false);
  });

  it('parseSalesforce(body as Uint8Array) decodes UTF-8', () => {
    const body = new TextEncoder().encode(
      '{"action":"created","sobject":{"name":"Lead","fields":{"Id":"00Q1","Company":"Zoë AG"}}}',
    );
    expect(parseSalesforce({ headers: {}, body }).data).toStrictEqual({ Company: 'Zoë AG' });
  });

  it('parseSalesforce(LastModifiedDate in fields) uses it as the timestamp', () => {
    const body =
      '{"action":"updated","sobject":{"name":"Account","fields":{"Id":"001x","LastModifiedDate":"2025-03-14T09:30:00.000Z"}}}';
    expect(parseSalesforce({ headers: {}, body }).timestamp.toISOString()).toBe('2025-03-14T09:30:00.000Z');
  });

  it.each([
    ['no sobject', '{"action":"created"}'],
    ['no fields', '{"action":"created","sobject":{"name":"Contact"}}'],
    ['no Id', '{"action":"created","sobject":{"name":"Contact","fields":{"FirstName":"John"}}}'],
    ['numeric-looking but object Id', '{"action":"created","sobject":{"name":"Contact","fields":{"Id":{}}}}'],
    ['no action', '{"sobject":{"name":"Contact","fields":{"Id":"003"}}}'],
    ['fields as an array', '{"action":"created","sobject":{"name":"Contact","fields":["003"]}}'],
  ])('parseSalesforce(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseSalesforce({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }) as WebhookError,
    );
  });
});
