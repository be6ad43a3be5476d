import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacDigest, safeEqualDigest, safeEqualString } from './crypto.js';

describe('hmacDigest', () => {
  const body = Buffer.from('{"action":"opened"}');

  it('equals createHmac keyed by the same string, for any secret (empty, non-ASCII, lone surrogate)', () => {
    for (const secret of ['whsec_abc', '', 'clé-ß-日本-🔑', '\ud800x', 'x'.repeat(300)]) {
      for (const algorithm of ['sha256', 'sha1'] as const) {
        expect(hmacDigest(algorithm, 'hex', secret, 'prefix.', body)).toBe(
          createHmac(algorithm, secret).update('prefix.').update(body).digest('hex'),
        );
      }
    }
  });

  it('stays right past the bound of its key cache, and for Buffer keys', () => {
    for (let i = 0; i < 600; i++) {
      const secret = `secret-${i}`;
      expect(hmacDigest('sha256', 'base64', secret, body)).toBe(
        createHmac('sha256', secret).update(body).digest('base64'),
      );
    }
    const key = Buffer.from([0, 1, 2, 255]);
    expect(hmacDigest('sha256', 'hex', key, body)).toBe(createHmac('sha256', key).update(body).digest('hex'));
  });
});

describe('safeEqualDigest', () => {
  it('answers as safeEqualString does, short and long, equal or not, whatever the lengths', () => {
    const samples = ['', 'a', 'ab', 'abc', 'é', 'e\u0301', 'f'.repeat(64), `${'f'.repeat(63)}e`, 'x'.repeat(129)];
    for (const a of samples) {
      for (const b of samples) expect(safeEqualDigest(a, b)).toBe(safeEqualString(a, b));
    }
    // One after another, different lengths: nothing of the previous comparison is left over.
    expect(safeEqualDigest('abcdef', 'abcdef')).toBe(true);
    expect(safeEqualDigest('abc', 'abd')).toBe(false);
    expect(safeEqualDigest('abc', 'abc')).toBe(true);
  });
});
