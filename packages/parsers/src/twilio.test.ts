import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseTwilio } from './twilio.js';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('parseTwilio', () => {
  it('parseTwilio(message status callback) gives message/delivered and the idempotency token', () => {
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': 'x',
      'i-twilio-idempotency-token': '0d3b8c5e-9b9a-4a1e-8c5d-3f6e2b1a0c9d',
    };
    const event = parseTwilio({ headers, body: fixture('twilio-message-status.form') });
    expect(event).toMatchObject({
      providerId: 'twilio',
      eventType: 'delivered',
      entityType: 'message',
      entityId: 'SM1f0e8ae6ade43cb3c0ce4525424e404f',
      deliveryId: '0d3b8c5e-9b9a-4a1e-8c5d-3f6e2b1a0c9d',
      data: { To: '+15558675310', From: '+15017122661', MessageStatus: 'delivered' },
    });
  });

  it('parseTwilio(call status callback) gives call and the CallStatus', () => {
    const body = form({
      CallSid: 'CA42ed11f93dc08b952027ffbc406d0868',
      CallStatus: 'completed',
      Timestamp: 'Mon, 16 Aug 2010 03:45:01 +0000',
    });
    const event = parseTwilio({ headers: {}, body });
    expect(event).toMatchObject({
      eventType: 'completed',
      entityType: 'call',
      entityId: 'CA42ed11f93dc08b952027ffbc406d0868',
    });
    expect(event).toHaveProperty('timestamp', new Date('2010-08-16T03:45:01Z'));
    expect(event).not.toHaveProperty('deliveryId');
  });

  it('parseTwilio(incoming SMS) gives message/received', () => {
    const body = form({
      MessageSid: 'SM1',
      SmsSid: 'SM1',
      AccountSid: 'AC1',
      From: '+1',
      To: '+2',
      Body: 'Hello',
      SmsStatus: 'received',
    });
    expect(parseTwilio({ headers: {}, body })).toMatchObject({ entityType: 'message', eventType: 'received' });
  });

  it('parseTwilio(recording callback that also names the call) gives the recording', () => {
    const body = form({ CallSid: 'CA1', RecordingSid: 'RE1', RecordingStatus: 'completed', AccountSid: 'AC1' });
    expect(parseTwilio({ headers: {}, body })).toMatchObject({
      entityType: 'recording',
      entityId: 'RE1',
      eventType: 'completed',
    });
  });

  it('parseTwilio(Conversations webhook) uses the first resource sid and EventType', () => {
    const body = form({
      AccountSid: 'AC1',
      EventType: 'onConversationAdded',
      ConversationSid: 'CH1',
      ChatServiceSid: 'IS1',
    });
    expect(parseTwilio({ headers: {}, body })).toMatchObject({
      entityType: 'conversation',
      entityId: 'CH1',
      eventType: 'onConversationAdded',
    });
  });

  it('parseTwilio(JSON callback with the same field names) maps like the form', () => {
    const body = JSON.stringify({ MessageSid: 'SM2', MessageStatus: 'sent' });
    expect(parseTwilio({ headers: {}, body })).toMatchObject({
      entityType: 'message',
      entityId: 'SM2',
      eventType: 'sent',
    });
  });

  it('parseTwilio(Event Streams batch) gives one event per CloudEvent with its id as deliveryId', () => {
    const events = parseTwilio({ headers: {}, body: fixture('twilio-event-streams.json') });
    expect(events).toStrictEqual([
      expect.objectContaining({
        eventType: 'delivered',
        entityType: 'message',
        entityId: 'SM1f0e8ae6ade43cb3c0ce4525424e404f',
        deliveryId: 'EZ1f0e8ae6ade43cb3c0ce4525424e404f',
        timestamp: new Date('2025-03-14T09:30:00.000Z'),
      }),
    ]);
  });

  it.each([
    ['a form without any sid', form({ From: '+1', Body: 'x' })],
    ['only an AccountSid', form({ AccountSid: 'AC1', EventType: 'x' })],
    ['a JSON array of strings', '["x"]'],
    ['an empty JSON array', '[]'],
  ])('parseTwilio(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseTwilio({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
