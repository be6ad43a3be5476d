import { describe, expect, it } from 'vitest';
import { parseGoogleCalendar } from './google-calendar.js';

const headers = {
  'X-Goog-Channel-ID': '01234567-89ab-cdef-0123456789ab',
  'X-Goog-Channel-Token': 'the-channel-secret',
  'X-Goog-Channel-Expiration': 'Fri, 14 Mar 2025 10:30:00 GMT',
  'X-Goog-Resource-ID': 'o3hgv1538sdjfh',
  'X-Goog-Resource-URI': 'https://www.googleapis.com/calendar/v3/calendars/team%40example.com/events?alt=json',
  'X-Goog-Resource-State': 'exists',
  'X-Goog-Message-Number': '10',
};

describe('parseGoogleCalendar', () => {
  it('parseGoogleCalendar(exists notification) maps the headers, calendar id from the URI', () => {
    const event = parseGoogleCalendar({ headers, body: '' });
    expect(event).toMatchObject({
      providerId: 'google-calendar',
      eventType: 'exists',
      entityType: 'calendar',
      entityId: 'team@example.com',
      deliveryId: '01234567-89ab-cdef-0123456789ab:10',
    });
  });

  it('parseGoogleCalendar(any notification) never puts the channel token in data', () => {
    const event = parseGoogleCalendar({ headers, body: '' });
    expect(JSON.stringify(event)).not.toContain('the-channel-secret');
    expect(event.data).toStrictEqual({
      resourceState: 'exists',
      channelId: '01234567-89ab-cdef-0123456789ab',
      resourceId: 'o3hgv1538sdjfh',
      resourceUri: headers['X-Goog-Resource-URI'],
      messageNumber: '10',
      channelExpiration: 'Fri, 14 Mar 2025 10:30:00 GMT',
    });
  });

  it('parseGoogleCalendar(sync, the first message) gives eventType sync', () => {
    const event = parseGoogleCalendar({
      headers: { ...headers, 'X-Goog-Resource-State': 'sync', 'X-Goog-Message-Number': '1' },
      body: '',
    });
    expect([event.eventType, event.deliveryId]).toStrictEqual(['sync', '01234567-89ab-cdef-0123456789ab:1']);
  });

  it('parseGoogleCalendar(a URI without a calendar id) falls back to X-Goog-Resource-ID', () => {
    const uri = 'https://www.googleapis.com/calendar/v3/users/me/calendarList?alt=json';
    expect(parseGoogleCalendar({ headers: { ...headers, 'X-Goog-Resource-URI': uri }, body: '' }).entityId).toBe(
      'o3hgv1538sdjfh',
    );
  });

  it.each([
    ['no resource state', { 'x-goog-channel-id': 'c', 'x-goog-resource-id': 'r' }],
    ['no channel id', { 'x-goog-resource-state': 'exists', 'x-goog-resource-id': 'r' }],
    ['no resource at all', { 'x-goog-resource-state': 'exists', 'x-goog-channel-id': 'c' }],
  ])('parseGoogleCalendar(%s) throws invalid_payload', (_name, requestHeaders) => {
    expect(() => parseGoogleCalendar({ headers: requestHeaders, body: '' })).toThrowError(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
  });
});
