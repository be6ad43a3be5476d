import { describe, expect, it } from 'vitest';
import { parseGoogle } from './google.js';
import { parseWebhook } from './index.js';

const now = Date.UTC(2025, 2, 14, 9, 30);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('parseGoogle', () => {
  it("parseWebhook('google', spec example) gives the spec's output", () => {
    const body = JSON.stringify({
      message: {
        data: 'eyJyZXNvdXJjZU5hbWUiOiJwZW9wbGUvYzEyMzQ1NjciLCAicGVyc29uRmllbGRzIjogWyJuYW1lcyIsICJlbWFpbEFkZHJlc3NlcyJdfQ==',
      },
    });
    expect(parseWebhook('google', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'google',
      eventType: 'updated',
      entityType: 'people',
      entityId: 'c1234567',
      data: { resourceName: 'people/c1234567', personFields: ['names', 'emailAddresses'] },
      timestamp: new Date(now),
    });
  });

  it('parseGoogle(full push envelope) takes messageId as deliveryId and publishTime as timestamp', () => {
    const body = JSON.stringify({
      message: {
        attributes: { source: 'contacts' },
        data: b64({ resourceName: 'people/c1234567' }),
        messageId: '2070443601311540',
        message_id: '2070443601311540',
        publishTime: '2021-02-26T19:13:55.749Z',
        publish_time: '2021-02-26T19:13:55.749Z',
      },
      subscription: 'projects/myproject/subscriptions/mysubscription',
    });
    const event = parseGoogle({ headers: { authorization: 'Bearer x' }, body });
    expect(event.deliveryId).toBe('2070443601311540');
    expect(event.timestamp.toISOString()).toBe('2021-02-26T19:13:55.749Z');
  });

  it('parseGoogle(message_id only) still finds the deliveryId', () => {
    const body = JSON.stringify({ message: { data: b64({ resourceName: 'people/c1' }), message_id: '99' } });
    expect(parseGoogle({ headers: {}, body }).deliveryId).toBe('99');
  });

  it('parseGoogle(Cloud Storage notification) gives entityType object and bucket/object as entityId', () => {
    const body = JSON.stringify({
      message: {
        attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'invoices', objectId: '2025/03/inv-1.pdf' },
        data: b64({ kind: 'storage#object', name: '2025/03/inv-1.pdf', bucket: 'invoices' }),
        messageId: '1',
      },
    });
    const event = parseGoogle({ headers: {}, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual([
      'object_finalize',
      'object',
      'invoices/2025/03/inv-1.pdf',
    ]);
  });

  it('parseGoogle(Gmail watch notification) gives entityType mailbox and the address', () => {
    const body = JSON.stringify({
      message: { data: b64({ emailAddress: 'user@example.com', historyId: '9876543210' }), messageId: '2' },
    });
    const event = parseGoogle({ headers: {}, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual([
      'updated',
      'mailbox',
      'user@example.com',
    ]);
  });

  it('parseGoogle(Workspace Events CloudEvent attributes) maps ce-type and ce-subject', () => {
    const body = JSON.stringify({
      message: {
        attributes: {
          'ce-type': 'google.workspace.chat.message.v1.created',
          'ce-subject': '//chat.googleapis.com/spaces/AAAA/messages/BBBB.CCCC',
        },
        data: b64({ message: { name: 'spaces/AAAA/messages/BBBB.CCCC' } }),
        messageId: '3',
      },
    });
    const event = parseGoogle({ headers: {}, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual(['created', 'message', 'BBBB.CCCC']);
  });

  it('parseGoogle(unknown JSON data) falls back to entityType message and the message id', () => {
    const body = JSON.stringify({ message: { data: b64({ hello: 'world' }), messageId: '4' } });
    const event = parseGoogle({ headers: {}, body });
    expect([event.eventType, event.entityType, event.entityId]).toStrictEqual(['updated', 'message', '4']);
  });

  it('parseGoogle(plain-text data) wraps the text in data', () => {
    const body = JSON.stringify({ message: { data: Buffer.from('ping').toString('base64'), messageId: '5' } });
    expect(parseGoogle({ headers: {}, body }).data).toStrictEqual({ data: 'ping' });
  });

  it.each([
    ['no message', '{"subscription":"projects/p/subscriptions/s"}'],
    ['data that is not base64', '{"message":{"data":"!!!not base64!!!","messageId":"1"}}'],
    ['data that is a number', '{"message":{"data":12,"messageId":"1"}}'],
    ['base64 of broken JSON', `{"message":{"data":"${Buffer.from('{"resourceName":').toString('base64')}"}}`],
    ['base64 of invalid UTF-8', `{"message":{"data":"${Buffer.from([0xff, 0xfe]).toString('base64')}"}}`],
    ['no entity and no messageId', `{"message":{"data":"${b64({ a: 1 })}"}}`],
  ])('parseGoogle(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseGoogle({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
