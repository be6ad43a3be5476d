import { describe, expect, it } from 'vitest';
import { signStripe, verifyStripe } from './stripe.js';

const body = '{"id":"evt_1","object":"event","type":"customer.created"}';
const secret = 'whsec_test_secret';
const now = 1_700_000_000;

describe('verifyStripe', () => {
  it('ignores v0 and unknown schemes beside a valid v1', () => {
    const header = signStripe({ body, secret, timestamp: now })['stripe-signature'];
    const headers = { 'stripe-signature': `${header},v0=${'0'.repeat(64)},v9=zzz` };
    expect(verifyStripe({ headers, body }, { secrets: [secret], now: now * 1000 })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });

  it('fails as malformed with only v0 signatures', () => {
    const headers = { 'stripe-signature': `t=${now},v0=${'0'.repeat(64)}` };
    expect(verifyStripe({ headers, body }, { secrets: [secret], now: now * 1000 })).toMatchObject({
      reason: 'malformed_header',
    });
  });

  it('fails as malformed with two different timestamps', () => {
    const header = signStripe({ body, secret, timestamp: now })['stripe-signature'];
    const headers = { 'stripe-signature': `${header},t=${now + 1}` };
    expect(verifyStripe({ headers, body }, { secrets: [secret], now: now * 1000 })).toMatchObject({
      reason: 'malformed_header',
    });
  });

  it('verifies while Stripe rolls a secret and signs with both', () => {
    const headers = signStripe({ body, secret: ['whsec_new', secret], timestamp: now });
    expect(verifyStripe({ headers, body }, { secrets: [secret], now: now * 1000 })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });
});
