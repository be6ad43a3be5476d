import { describe, expect, it } from 'vitest';
import { storableBody, storableHeaders } from './diagnostics.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('storableBody', () => {
  it('hands back the very same bytes when they hold no secret', () => {
    const body = Buffer.from('{"value":[{"clientState":"something else"}]}');
    const kept = storableBody(body, ['graph-client-state-1']);
    expect(kept).toEqual({ body, redacted: false });
    expect(kept.body).toBe(body);
  });

  it('replaces every occurrence of every active secret, and leaves valid JSON', () => {
    const body = Buffer.from(
      JSON.stringify({ value: [{ clientState: 'current-secret' }, { clientState: 'previous-secret' }, { note: 'x' }] }),
    );
    const kept = storableBody(body, ['current-secret', 'previous-secret']);
    expect(kept.redacted).toBe(true);
    expect(JSON.parse(text(kept.body))).toEqual({
      value: [{ clientState: '[redacted]' }, { clientState: '[redacted]' }, { note: 'x' }],
    });
  });

  it('finds a secret as a JSON string escapes it', () => {
    const secret = 'state/with"quote\\and/slash';
    const body = Buffer.from(JSON.stringify({ value: [{ clientState: secret }] }));
    const kept = storableBody(body, [secret]);
    expect(kept.redacted).toBe(true);
    expect(JSON.parse(text(kept.body))).toEqual({ value: [{ clientState: '[redacted]' }] });
  });

  it('finds a secret however a JSON encoder escaped its characters (.NET, Python)', () => {
    // System.Text.Json escapes + and < (upper-case hex); Python's json escapes non-ASCII (lower-case),
    // beyond the BMP as a surrogate pair.
    const secret = 'a+b<c-é😀';
    const dotnet = '{"clientState":"a\\u002Bb\\u003Cc-\\u00E9\\uD83D\\uDE00"}';
    const python = '{"clientState": "a+b<c-\\u00e9\\ud83d\\ude00"}';
    for (const json of [dotnet, python]) {
      expect(JSON.parse(json).clientState).toBe(secret);
      const kept = storableBody(Buffer.from(json), [secret]);
      expect(kept.redacted).toBe(true);
      expect(JSON.parse(text(kept.body)).clientState).toBe('[redacted]');
    }
  });

  it('finds an escaped secret through its letters and digits, and skips the slow search when they are absent', () => {
    const secret = 'graph+state/2024';
    const escaped = Buffer.from('{"clientState":"graph\\u002Bstate\\/2024","note":"a\\"b"}');
    expect(JSON.parse(escaped.toString()).clientState).toBe(secret);
    expect(text(storableBody(escaped, [secret]).body)).toBe('{"clientState":"[redacted]","note":"a\\"b"}');
    const other = Buffer.from('{"clientState":"other\\u002Bvalue","note":"a\\"b"}');
    expect(storableBody(other, [secret]).body).toBe(other);
  });

  it('leaves bytes that are not UTF-8 as they were', () => {
    const body = Buffer.concat([Buffer.from([0xff, 0xfe, 0x5c]), Buffer.from('secret-1'), Buffer.from([0xc3])]);
    const kept = storableBody(body, ['secret-1']);
    expect([...kept.body]).toEqual([0xff, 0xfe, 0x5c, ...Buffer.from('[redacted]'), 0xc3]);
  });

  it('hands back the same bytes when a body with escapes holds no secret', () => {
    const body = Buffer.from('{"text":"line\\nbreak \\u00e9"}');
    expect(storableBody(body, ['secret-1']).body).toBe(body);
  });

  it('replaces a secret that contains another one whole', () => {
    const kept = storableBody(Buffer.from('a=abcdef&b=abc'), ['abc', 'abcdef']);
    expect(text(kept.body)).toBe('a=[redacted]&b=[redacted]');
  });

  it('takes a plain Uint8Array (not a Buffer) and non-ASCII secrets', () => {
    const secret = 'état-secret-ü';
    const bytes = new Uint8Array(Buffer.from(`{"clientState":"${secret}","n":1}`));
    const kept = storableBody(bytes, [secret]);
    expect(kept.redacted).toBe(true);
    expect(text(kept.body)).toBe('{"clientState":"[redacted]","n":1}');
    // The caller's bytes are left as they were.
    expect(Buffer.from(bytes).toString('utf8')).toContain(secret);
  });

  it('matches a secret with regular-expression characters literally', () => {
    const secret = 'a.b*c(d)|e[f]$';
    const kept = storableBody(Buffer.from(`x=axbbbcde\\ y=${secret}`), [secret]);
    expect(text(kept.body)).toBe('x=axbbbcde\\ y=[redacted]');
  });

  it('ignores empty secrets', () => {
    const body = Buffer.from('{}');
    expect(storableBody(body, ['']).body).toBe(body);
  });
});

describe('storableHeaders', () => {
  it('drops credentials and any header holding a secret, and says so', () => {
    const stored = storableHeaders(
      { Authorization: 'Bearer x', 'X-Echo': 'has whsec_abc inside', 'X-Kept': ['a', 'b'] },
      ['whsec_abc'],
    );
    expect(stored).toEqual({ headers: { 'x-kept': 'a, b' }, redacted: true });
  });
});
