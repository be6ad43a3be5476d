import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseWebhook } from './index.js';
import { parseSlack } from './slack.js';

const now = Date.UTC(2025, 2, 14, 9, 30);
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('parseSlack', () => {
  it("parseWebhook('slack', spec example) gives the spec's output", () => {
    const event = { type: 'message', channel: 'C123', user: 'U123', ts: '1234567890.000001' };
    const body = JSON.stringify({ type: 'event_callback', event });
    expect(parseWebhook('slack', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'slack',
      eventType: 'message',
      entityType: 'message',
      entityId: '1234567890.000001',
      data: event,
      timestamp: new Date(now),
    });
  });

  it("parseWebhook('slack', the spec's example exactly as written, without ts) still gives a message event", () => {
    // The spec's input has no ts ("entityId: 'ts'" in its output names the field): the channel stands in.
    const event = { type: 'message', channel: 'C123', user: 'U123' };
    const body = JSON.stringify({ type: 'event_callback', event });
    expect(parseWebhook('slack', { headers: {}, body }, { now })).toStrictEqual({
      providerId: 'slack',
      eventType: 'message',
      entityType: 'message',
      entityId: 'C123',
      data: event,
      timestamp: new Date(now),
    });
    const withEventTs = JSON.stringify({ type: 'event_callback', event: { ...event, event_ts: '1234567890.000002' } });
    expect(parseSlack({ headers: {}, body: withEventTs }).entityId).toBe('1234567890.000002');
  });

  it('parseSlack(real event_callback) takes event_id as deliveryId and event_time as timestamp', () => {
    const event = parseSlack({ headers: {}, body: fixture('slack-message.json') });
    expect(event.deliveryId).toBe('Ev0PV52K21');
    expect(event.timestamp).toStrictEqual(new Date(1234567890 * 1000));
    expect(event.data).toMatchObject({ channel: 'C123456', text: 'Hello @bot' });
  });

  it('parseSlack(reaction_added) gives entityType reaction and the reacted message ts', () => {
    const event = parseSlack({ headers: {}, body: fixture('slack-reaction-added.json') });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual([
      'reaction',
      'reaction_added',
      '1360782400.498405',
    ]);
  });

  it('parseSlack(message_changed) uses the subtype as eventType and the edited message ts', () => {
    const body = JSON.stringify({
      type: 'event_callback',
      event_id: 'Ev1',
      event: {
        type: 'message',
        subtype: 'message_changed',
        channel: 'C1',
        ts: '2.0',
        message: { ts: '1.0', text: 'x' },
      },
    });
    const event = parseSlack({ headers: {}, body });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual(['message', 'message_changed', '1.0']);
  });

  it('parseSlack(app_mention) gives entityType message', () => {
    const body = JSON.stringify({ type: 'event_callback', event: { type: 'app_mention', ts: '1.5', channel: 'C1' } });
    expect(parseSlack({ headers: {}, body }).entityType).toBe('message');
  });

  it('parseSlack(channel_created) takes the channel object id', () => {
    const body = JSON.stringify({
      type: 'event_callback',
      event: { type: 'channel_created', channel: { id: 'C024BE91L', name: 'fun' }, event_ts: '1.0' },
    });
    const event = parseSlack({ headers: {}, body });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual([
      'channel',
      'channel_created',
      'C024BE91L',
    ]);
  });

  it('parseSlack(url_verification) throws invalid_payload with reason handshake', () => {
    const body =
      '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3","type":"url_verification"}';
    expect(() => parseSlack({ headers: {}, body })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload', reason: 'handshake' }),
    );
  });

  it('parseSlack(slash command form) gives entityType command, the command name and trigger_id', () => {
    const body = form({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: 'T0001',
      channel_id: 'C2147483705',
      user_id: 'U2147483697',
      command: '/weather',
      text: '94070',
      response_url: 'https://hooks.slack.com/commands/1234/5678',
      trigger_id: '13345224609.738474920.8088930838d88f008e0',
    });
    const event = parseSlack({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(event).toMatchObject({
      eventType: 'weather',
      entityType: 'command',
      entityId: '13345224609.738474920.8088930838d88f008e0',
      deliveryId: '13345224609.738474920.8088930838d88f008e0',
      data: { text: '94070', channel_id: 'C2147483705' },
    });
  });

  it('parseSlack(interactive payload= form) gives entityType interaction and the payload type', () => {
    const body = form({ payload: fixture('slack-block-actions.json') });
    const event = parseSlack({ headers: {}, body });
    expect([event.entityType, event.eventType, event.entityId]).toStrictEqual([
      'interaction',
      'block_actions',
      '12466734323.1395872398.abcdef0123456789',
    ]);
    expect(event.data).toMatchObject({ actions: [{ action_id: 'approve' }] });
  });

  it('parseSlack(ssl_check form) throws invalid_payload with reason handshake', () => {
    expect(() => parseSlack({ headers: {}, body: 'ssl_check=1&token=abc' })).toThrowError(
      expect.objectContaining({ reason: 'handshake' }),
    );
  });

  it.each([
    ['event_callback without event', '{"type":"event_callback"}'],
    ['event without type', '{"type":"event_callback","event":{"ts":"1"}}'],
    ['message without ts or channel', '{"type":"event_callback","event":{"type":"message"}}'],
    ['unknown envelope', '{"type":"block_actions_v9"}'],
    ['form without command or payload', 'text=hello'],
    ['payload that is not JSON', 'payload=%7Bnope'],
  ])('parseSlack(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseSlack({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
