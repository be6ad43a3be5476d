import { describe, expect, it } from 'vitest';
import { signGoogleCalendar } from './google-calendar.js';
import { handshakeResponse, verifyWebhook } from './index.js';

const TOKEN = 'target=myApp-myCalendarChannelDest';
const options = { secrets: [TOKEN, 'channel-token-two'] };

describe('verifyWebhook(google-calendar, ...)', () => {
  it('accepts the channel token and reports which secret it is', async () => {
    expect(
      await verifyWebhook('google-calendar', { headers: signGoogleCalendar({ secret: TOKEN }), body: '' }, options),
    ).toEqual({
      ok: true,
      secretIndex: 0,
    });
    const second = { headers: signGoogleCalendar({ secret: 'channel-token-two' }), body: '' };
    expect(await verifyWebhook('google-calendar', second, options)).toEqual({ ok: true, secretIndex: 1 });
  });

  it('rejects a token that only shares a prefix with a secret', async () => {
    const request = { headers: signGoogleCalendar({ secret: TOKEN.slice(0, -1) }), body: '' };
    expect(await verifyWebhook('google-calendar', request, options)).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('fails with malformed_header for two different tokens', async () => {
    const headers = { ...signGoogleCalendar({ secret: TOKEN }), 'x-goog-channel-token': [TOKEN, 'other'] };
    expect(await verifyWebhook('google-calendar', { headers, body: '' }, options)).toMatchObject({
      reason: 'malformed_header',
    });
  });

  it('fails with malformed_header for a token longer than 256 characters', async () => {
    const request = { headers: signGoogleCalendar({ secret: 'a'.repeat(257) }), body: '' };
    expect(await verifyWebhook('google-calendar', request, { secrets: ['a'.repeat(257)] })).toMatchObject({
      reason: 'malformed_header',
    });
  });

  it('signGoogleCalendar numbers the sync message 1, as Google does', () => {
    expect(signGoogleCalendar({ secret: TOKEN, resourceState: 'sync', channelId: 'chan-1' })).toMatchObject({
      'x-goog-channel-id': 'chan-1',
      'x-goog-channel-token': TOKEN,
      'x-goog-resource-state': 'sync',
      'x-goog-message-number': '1',
    });
  });
});

describe('handshakeResponse(google-calendar, ...)', () => {
  const sync = (secret: string) => ({ headers: signGoogleCalendar({ secret, resourceState: 'sync' }), body: '' });

  it('acknowledges a sync message with the right token with an empty 200', async () => {
    expect(await handshakeResponse('google-calendar', sync(TOKEN), options)).toEqual({
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '',
    });
  });

  it('returns null for a sync message without a token', async () => {
    const { 'x-goog-channel-token': _, ...headers } = sync(TOKEN).headers;
    expect(await handshakeResponse('google-calendar', { headers, body: '' }, options)).toBeNull();
  });

  it('returns null for a sync message with a wrong token', async () => {
    expect(await handshakeResponse('google-calendar', sync('wrong-token'), options)).toBeNull();
  });

  it('returns null for a sync message when no secret is configured', async () => {
    expect(await handshakeResponse('google-calendar', sync(TOKEN), { secrets: [] })).toBeNull();
  });

  it('returns null for a change notification (resource state exists)', async () => {
    const request = { headers: signGoogleCalendar({ secret: TOKEN, resourceState: 'exists' }), body: '' };
    expect(await handshakeResponse('google-calendar', request, options)).toBeNull();
  });
});
