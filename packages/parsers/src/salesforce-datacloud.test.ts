import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseSalesforceDataCloud } from './salesforce-datacloud.js';

describe('parseSalesforceDataCloud', () => {
  it('parseSalesforceDataCloud(data action delivery) maps each DataObjectDataChgEvent', () => {
    const events = parseSalesforceDataCloud({
      headers: { 'x-signature': 'abc=' },
      body: fixture('salesforce-datacloud.json'),
    });
    expect(events).toStrictEqual([
      {
        providerId: 'salesforce-datacloud',
        eventType: 'created',
        entityType: 'ssot__Individual__dlm',
        entityId: '0PKxx0000004CsvGAE',
        data: { ssot__Id__c: '0PKxx0000004CsvGAE', ssot__FirstName__c: 'John', ssot__LastName__c: 'Doe' },
        timestamp: new Date('2025-03-14T09:30:58.000Z'),
        deliveryId: 'd5c9e6f2-8a1b-4c3d-9e7f-0a1b2c3d4e5f',
      },
    ]);
  });

  it('parseSalesforceDataCloud(field names without __c, DELETE, no payload) still maps', () => {
    const body = JSON.stringify({
      count: 1,
      events: [
        {
          EventPrompt: 'DELETE',
          EventUuid: 'u-1',
          ProfileIdValue: 'P-1',
          SourceObjectDeveloperName: 'UnifiedIndividual__dlm',
          EventPublishDateTime: '2025-01-01T00:00:00.000Z',
        },
      ],
    });
    const [event] = parseSalesforceDataCloud({ headers: {}, body });
    expect([event?.eventType, event?.entityId, event?.data, event?.deliveryId]).toStrictEqual([
      'deleted',
      'P-1',
      {},
      'u-1',
    ]);
  });

  it.each([
    ['no events', '{"count":0}'],
    ['empty events', '{"events":[]}'],
    ['a string event', '{"events":["x"]}'],
    [
      'a payload that is not JSON',
      '{"events":[{"EventUuid__c":"u","SourceObjectDeveloperName__c":"X","PayloadCurrentValue__c":"{oops"}]}',
    ],
    ['no source object', '{"events":[{"EventUuid__c":"u","EventPrompt__c":"INSERT"}]}'],
  ])('parseSalesforceDataCloud(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseSalesforceDataCloud({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
