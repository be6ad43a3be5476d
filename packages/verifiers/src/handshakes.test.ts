import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { handshakeResponse } from './index.js';
import { signNotion } from './notion.js';
import { signSlack } from './slack.js';
import { signZoom } from './zoom.js';

const now = 1_700_000_000;
const options = (secret: string) => ({ secrets: [secret], now: now * 1000 });

describe('handshakeResponse(slack)', () => {
  const body = JSON.stringify({
    token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
    challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    type: 'url_verification',
  });

  it('answers a signed url_verification with the challenge', async () => {
    const headers = signSlack({ body, secret: 'signing', timestamp: now });
    expect(await handshakeResponse('slack', { headers, body }, options('signing'))).toEqual({
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
  });

  it('returns null unsigned, badly signed or stale, so it is never an echo oracle', async () => {
    expect(await handshakeResponse('slack', { headers: {}, body }, options('signing'))).toBeNull();
    const wrong = signSlack({ body, secret: 'other', timestamp: now });
    expect(await handshakeResponse('slack', { headers: wrong, body }, options('signing'))).toBeNull();
    const stale = signSlack({ body, secret: 'signing', timestamp: now - 301 });
    expect(await handshakeResponse('slack', { headers: stale, body }, options('signing'))).toBeNull();
  });

  it('returns null for an ordinary event', async () => {
    const event = JSON.stringify({ type: 'event_callback', event: { type: 'message' } });
    const headers = signSlack({ body: event, secret: 'signing', timestamp: now });
    expect(await handshakeResponse('slack', { headers, body: event }, options('signing'))).toBeNull();
  });
});

describe('handshakeResponse(zoom)', () => {
  const body = JSON.stringify({
    payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' },
    event_ts: 1654503849680,
    event: 'endpoint.url_validation',
  });

  it('answers with encryptedToken = hex HMAC-SHA256(secret, plainToken) using the secret that verified', async () => {
    const headers = signZoom({ body, secret: 'second', timestamp: now });
    const answer = await handshakeResponse(
      'zoom',
      { headers, body },
      { secrets: ['first', 'second'], now: now * 1000 },
    );
    expect(answer?.status).toBe(200);
    expect(JSON.parse(answer!.body)).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: createHmac('sha256', 'second').update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'),
    });
  });

  it('returns null when the validation request is not signed by a configured secret', async () => {
    const headers = signZoom({ body, secret: 'attacker', timestamp: now });
    expect(await handshakeResponse('zoom', { headers, body }, options('first'))).toBeNull();
    expect(await handshakeResponse('zoom', { headers: {}, body }, options('first'))).toBeNull();
  });
});

describe('handshakeResponse(notion)', () => {
  const token = 'secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl';
  const body = JSON.stringify({ verification_token: token });

  it('answers the verification request and hands the token over', async () => {
    const answer = await handshakeResponse(
      'notion',
      { headers: signNotion({ body, secret: token }), body },
      options('x'),
    );
    expect(answer).toEqual({ status: 200, contentType: 'application/json', body: '{}', capturedSecret: token });
    expect(await handshakeResponse('notion', { headers: {}, body }, options('x'))).toMatchObject({
      capturedSecret: token,
    });
  });

  it('returns null for a token signed by something else, or any other shape', async () => {
    expect(
      await handshakeResponse('notion', { headers: signNotion({ body, secret: 'secret_other' }), body }, options('x')),
    ).toBeNull();
    const extra = JSON.stringify({ verification_token: token, type: 'page.created' });
    expect(await handshakeResponse('notion', { headers: {}, body: extra }, options('x'))).toBeNull();
    const notToken = JSON.stringify({ verification_token: 'not-a-notion-token' });
    expect(await handshakeResponse('notion', { headers: {}, body: notToken }, options('x'))).toBeNull();
  });
});
