import { describe, expect, it } from 'vitest';
import { VerifierUsageError, verifyWebhook } from './index.js';
import { formParamsString, signTwilio, twilioJsonUrl } from './twilio.js';

// Twilio's worked example (docs "Webhooks security"): auth token 12345 and these form parameters.
const TOKEN = '12345';
const DOC_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOC_BODY = 'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212';
const DOC_SIGNATURE = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';

// Twilio's JSON example (api-snippets signature_validation_json): the body and its bodySHA256.
const JSON_BODY = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
const JSON_URL =
  'https://example.com/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';
// HMAC-SHA1 of JSON_URL with 12345, computed independently (Python hmac).
const JSON_SIGNATURE = 'hPXmLwIy3Fgqv1i9KPmH/HhQ6zo=';

const verify = (request: { url?: string; body: string; signature: string }, secrets = [TOKEN]) =>
  verifyWebhook(
    'twilio',
    { headers: { 'x-twilio-signature': request.signature }, body: request.body, url: request.url },
    { secrets },
  );

describe('verifyWebhook(twilio, form body)', () => {
  it('accepts the documented example', async () => {
    expect(await verify({ url: DOC_URL, body: DOC_BODY, signature: DOC_SIGNATURE })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });

  it('accepts the documented example with the parameters in another order', async () => {
    const body = 'To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE&From=%2B12349013030&Caller=%2B12349013030';
    expect(await verify({ url: DOC_URL, body, signature: DOC_SIGNATURE })).toMatchObject({ ok: true });
  });

  it('signTwilio reproduces the documented signature', () => {
    expect(signTwilio({ url: DOC_URL, body: DOC_BODY, secret: TOKEN })['x-twilio-signature']).toBe(DOC_SIGNATURE);
  });

  it('rejects a changed parameter with signature_mismatch', async () => {
    const body = DOC_BODY.replace('Digits=1234', 'Digits=9999');
    expect(await verify({ url: DOC_URL, body, signature: DOC_SIGNATURE })).toMatchObject({
      reason: 'signature_mismatch',
    });
  });

  it('rejects a changed query string with signature_mismatch', async () => {
    const url = DOC_URL.replace('bar=2', 'bar=3');
    expect(await verify({ url, body: DOC_BODY, signature: DOC_SIGNATURE })).toMatchObject({
      reason: 'signature_mismatch',
    });
  });

  it('rejects an added parameter with signature_mismatch', async () => {
    const body = `${DOC_BODY}&Extra=1`;
    expect(await verify({ url: DOC_URL, body, signature: DOC_SIGNATURE })).toMatchObject({
      reason: 'signature_mismatch',
    });
  });

  it('signs a repeated name once per distinct value, values sorted (as twilio-node and twilio-python)', async () => {
    const url = 'https://example.com/sms?x=1';
    const body =
      'MediaUrl=https%3A%2F%2Fa.example%2F2&Body=hi&MediaUrl=https%3A%2F%2Fa.example%2F1&MediaUrl=https%3A%2F%2Fa.example%2F2';
    expect(formParamsString(body)).toBe('BodyhiMediaUrlhttps://a.example/1MediaUrlhttps://a.example/2');
    // HMAC-SHA1 of url + 'Bodyhi' + 'MediaUrlhttps://a.example/1' + 'MediaUrlhttps://a.example/2', computed independently.
    expect(await verify({ url, body, signature: 'CDeO4YZqbP0g9o4Lg4QfDhmfWTI=' })).toMatchObject({ ok: true });
  });

  it('sorts names case-sensitively, upper case first', () => {
    expect(formParamsString('b=1&B=2&a=3')).toBe('B2a3b1');
  });

  it('decodes + as a space and percent escapes in parameters', () => {
    expect(formParamsString('Body=hello+world%21')).toBe('Bodyhello world!');
  });
});

describe('verifyWebhook(twilio, JSON body)', () => {
  it('twilioJsonUrl appends the documented bodySHA256', () => {
    expect(twilioJsonUrl('https://example.com/myapp', JSON_BODY)).toBe(JSON_URL);
  });

  it('accepts the documented JSON body with its bodySHA256 URL', async () => {
    expect(await verify({ url: JSON_URL, body: JSON_BODY, signature: JSON_SIGNATURE })).toEqual({
      ok: true,
      secretIndex: 0,
    });
  });

  it('signTwilio signs the URL alone for a JSON body', () => {
    expect(signTwilio({ url: JSON_URL, body: JSON_BODY, secret: TOKEN })).toEqual({
      'content-type': 'application/json',
      'x-twilio-signature': JSON_SIGNATURE,
    });
  });

  it('rejects a body that does not match bodySHA256, with a message about the body', async () => {
    const result = await verify({
      url: JSON_URL,
      body: JSON_BODY.replace('ABCDE', 'ABCDF'),
      signature: JSON_SIGNATURE,
    });
    expect(result).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    if (!result.ok) expect(result.message).toContain('bodySHA256');
  });

  it('rejects a bodySHA256 swapped for the hash of another body with signature_mismatch', async () => {
    const other = '{"CallSid":"CA0000000000000000"}';
    const url = twilioJsonUrl('https://example.com/myapp', other);
    expect(await verify({ url, body: other, signature: JSON_SIGNATURE })).toMatchObject({
      reason: 'signature_mismatch',
    });
  });

  it('rejects a URL with two bodySHA256 parameters as malformed', async () => {
    const url = `${JSON_URL}&bodySHA256=00`;
    expect(await verify({ url, body: JSON_BODY, signature: JSON_SIGNATURE })).toMatchObject({
      reason: 'malformed_header',
    });
  });
});

describe('verifyWebhook(twilio, ports)', () => {
  // HMAC-SHA1 of 'https://example.com:443/voice' with 12345, computed independently.
  const SIGNED_WITH_PORT = 'LBi9ObdVqXEHDjMWaCV1Mb6T0T8=';

  it('accepts a signature over the URL with :443 when the request URL has no port', async () => {
    expect(await verify({ url: 'https://example.com/voice', body: '', signature: SIGNED_WITH_PORT })).toMatchObject({
      ok: true,
    });
  });

  it('accepts a signature over the URL without a port when the request URL has :443', async () => {
    const signature = signTwilio({ url: 'https://example.com/voice', body: '', secret: TOKEN })['x-twilio-signature']!;
    expect(await verify({ url: 'https://example.com:443/voice', body: '', signature })).toMatchObject({ ok: true });
  });

  it('accepts a signature over the URL without its non-default port', async () => {
    const signature = signTwilio({ url: 'https://example.com/voice', body: '', secret: TOKEN })['x-twilio-signature']!;
    expect(await verify({ url: 'https://example.com:8443/voice', body: '', signature })).toMatchObject({ ok: true });
  });

  it('accepts a signature over http with :80 when the request URL has no port', async () => {
    const signature = signTwilio({ url: 'http://example.com:80/voice', body: '', secret: TOKEN })[
      'x-twilio-signature'
    ]!;
    expect(await verify({ url: 'http://example.com/voice', body: '', signature })).toMatchObject({ ok: true });
  });

  it('rejects a signature over another host with signature_mismatch', async () => {
    const signature = signTwilio({ url: 'https://evil.example/voice', body: '', secret: TOKEN })['x-twilio-signature']!;
    expect(await verify({ url: 'https://example.com/voice', body: '', signature })).toMatchObject({
      reason: 'signature_mismatch',
    });
  });
});

describe('verifyWebhook(twilio, misuse and bad input)', () => {
  it('throws VerifierUsageError without request.url', async () => {
    await expect(verify({ body: DOC_BODY, signature: DOC_SIGNATURE })).rejects.toBeInstanceOf(VerifierUsageError);
  });

  it('throws VerifierUsageError for a path-only request.url', async () => {
    await expect(verify({ url: '/myapp.php?foo=1', body: DOC_BODY, signature: DOC_SIGNATURE })).rejects.toBeInstanceOf(
      VerifierUsageError,
    );
  });

  it('fails with malformed_header for a URL that does not parse (a hostile Host header)', async () => {
    expect(await verify({ url: 'https://exa mple.com/x', body: DOC_BODY, signature: DOC_SIGNATURE })).toMatchObject({
      ok: false,
      reason: 'malformed_header',
    });
  });

  it('fails with malformed_header for a signature of the wrong length', async () => {
    expect(await verify({ url: DOC_URL, body: DOC_BODY, signature: 'AAAA' })).toMatchObject({
      reason: 'malformed_header',
    });
  });
});
