import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures/load.js';
import { parseZoom } from './zoom.js';

describe('parseZoom', () => {
  it('parseZoom(meeting.started) maps the event name, object id and event_ts', () => {
    const event = parseZoom({ headers: { 'x-zm-signature': 'v0=x' }, body: fixture('zoom-meeting-started.json') });
    expect(event).toMatchObject({
      providerId: 'zoom',
      eventType: 'started',
      entityType: 'meeting',
      entityId: '85746065432',
      timestamp: new Date(1741944600123),
      data: { topic: 'Weekly sync' },
    });
    expect(event.deliveryId).toBeUndefined();
  });

  it('parseZoom(meeting.participant_joined) keeps the verb after the first dot', () => {
    const body = JSON.stringify({
      event: 'meeting.participant_joined',
      event_ts: 1,
      payload: { account_id: 'A', object: { id: '123', uuid: 'u==', participant: { user_id: '16778240' } } },
    });
    expect(parseZoom({ headers: {}, body }).eventType).toBe('participant_joined');
  });

  it('parseZoom(endpoint.url_validation) throws invalid_payload with reason handshake', () => {
    const body =
      '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
    expect(() => parseZoom({ headers: {}, body })).toThrowError(expect.objectContaining({ reason: 'handshake' }));
  });

  it.each([
    ['no event', '{"payload":{"object":{"id":1}}}'],
    ['an event without a dot', '{"event":"meeting","payload":{"object":{"id":1}}}'],
    ['no payload.object', '{"event":"meeting.started","payload":{}}'],
    ['an object without id', '{"event":"meeting.started","payload":{"object":{"topic":"x"}}}'],
  ])('parseZoom(%s) throws invalid_payload', (_name, body) => {
    expect(() => parseZoom({ headers: {}, body })).toThrowError(expect.objectContaining({ code: 'invalid_payload' }));
  });
});
