import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signStandardWebhooks, verifyStandardWebhooks } from './standard-webhooks.js';
import { signSvix, verifySvix } from './svix.js';

const body = '{"type":"user.created","data":{"id":"u_1"}}';
const now = 1_700_000_000;

describe('verifyStandardWebhooks', () => {
  it('never verifies with a secret that is not base64, even against a signature made with an empty key', () => {
    const id = 'msg_1';
    const forged = createHmac('sha256', Buffer.alloc(0)).update(`${id}.${now}.${body}`).digest('base64');
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': `v1,${forged}` };
    for (const secret of ['whsec_!!!!', 'whsec_', 'not base64 at all']) {
      expect(verifyStandardWebhooks({ headers, body }, { secrets: [secret], now: now * 1000 })).toMatchObject({
        ok: false,
        reason: 'signature_mismatch',
      });
    }
  });

  it('does not accept a mistyped secret that lenient base64 decoding would turn into the right key', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const headers = signStandardWebhooks({ body, secret, id: 'msg_2', timestamp: now });
    expect(verifyStandardWebhooks({ headers, body }, { secrets: [secret], now: now * 1000 }).ok).toBe(true);
    expect(verifyStandardWebhooks({ headers, body }, { secrets: [`${secret}x`], now: now * 1000 }).ok).toBe(false);
  });

  it('ignores v1a and unknown signature versions beside a valid v1', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const headers = signStandardWebhooks({ body, secret, id: 'msg_3', timestamp: now });
    headers['webhook-signature'] = `v1a,AAAA v2,BBBB ${headers['webhook-signature']}`;
    expect(verifyStandardWebhooks({ headers, body }, { secrets: [secret], now: now * 1000 })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });
});

describe('verifySvix', () => {
  it('accepts both svix-* and webhook-* header names', () => {
    const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    const svixHeaders = signSvix({ body, secret, id: 'msg_4', timestamp: now });
    const standardHeaders = signStandardWebhooks({ body, secret, id: 'msg_4', timestamp: now });
    expect(verifySvix({ headers: svixHeaders, body }, { secrets: [secret], now: now * 1000 }).ok).toBe(true);
    expect(verifySvix({ headers: standardHeaders, body }, { secrets: [secret], now: now * 1000 }).ok).toBe(true);
  });
});
