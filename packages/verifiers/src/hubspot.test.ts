import { describe, expect, it } from 'vitest';
import { decodeHubSpotUri, signHubSpotV1, signHubSpotV2, signHubSpotV3 } from './hubspot.js';
import type { HeaderMap, WebhookRequest } from './index.js';
import { VerifierUsageError, verifyWebhook } from './index.js';

// HubSpot's documented examples ("v1 request validation", "v2 request validation").
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const V1_SIGNATURE = '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de';
const V2_GET_SIGNATURE = 'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e';
const URL = 'https://www.example.com/webhook_uri';
const TS = 1564113600000;
// Base64 HMAC-SHA256 of 'POST' + URL + BODY + '1564113600000', computed independently (Python hmac).
const V3_SIGNATURE = 'DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw=';

const verify = (request: Partial<WebhookRequest> & { headers: HeaderMap }, now = TS) =>
  verifyWebhook('hubspot', { body: BODY, ...request }, { secrets: [SECRET], now });

describe('verifyWebhook(hubspot, v3)', () => {
  const headers = { 'x-hubspot-signature-v3': V3_SIGNATURE, 'x-hubspot-request-timestamp': String(TS) };

  it('accepts the known-answer vector', async () => {
    expect(await verify({ headers, url: URL, method: 'POST' })).toEqual({ ok: true, secretIndex: 0 });
  });

  it('signHubSpotV3 reproduces the known-answer vector', () => {
    expect(signHubSpotV3({ url: URL, body: BODY, secret: SECRET, timestamp: TS })).toEqual(headers);
  });

  it('defaults the method to POST', async () => {
    expect(await verify({ headers, url: URL })).toMatchObject({ ok: true });
  });

  it('rejects the vector under another method with signature_mismatch', async () => {
    expect(await verify({ headers, url: URL, method: 'PUT' })).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('decodes the twelve characters HubSpot lists before signing, and only those', async () => {
    const url = 'https://www.example.com/webhook_uri?email=a%40b.com&path=%2Fx%3Ay&name=caf%C3%A9';
    // Signed over '...?email=a@b.com&path=/x:y&name=caf%C3%A9', computed independently.
    const signed = {
      'x-hubspot-signature-v3': 'lhqOD6khGYHrxsv77FG10nPu3xm1hi3aHohX5UYmXFA=',
      'x-hubspot-request-timestamp': String(TS),
    };
    expect(await verify({ headers: signed, url })).toMatchObject({ ok: true });
  });

  it("decodeHubSpotUri decodes :/?@!$'()*,; in either hex case, in one pass", () => {
    expect(decodeHubSpotUri('%3A%2f%3F%40%21%24%27%28%29%2a%2C%3b')).toBe(":/?@!$'()*,;");
    expect(decodeHubSpotUri('a%20b%C3%A9%253A%2B')).toBe('a%20b%C3%A9%253A%2B');
  });

  it('rejects a timestamp 1 ms beyond 300 s with timestamp_out_of_tolerance', async () => {
    expect(await verify({ headers, url: URL }, TS + 300_000)).toMatchObject({ ok: true });
    expect(await verify({ headers, url: URL }, TS + 300_001)).toMatchObject({ reason: 'timestamp_out_of_tolerance' });
  });

  it('treats a timestamp in seconds as stale, since the header is in ms', async () => {
    const seconds = signHubSpotV3({ url: URL, body: BODY, secret: SECRET, timestamp: TS / 1000 });
    expect(await verify({ headers: seconds, url: URL })).toMatchObject({ reason: 'timestamp_out_of_tolerance' });
  });

  it('fails with missing_header without the timestamp', async () => {
    const result = await verify({ headers: { 'x-hubspot-signature-v3': V3_SIGNATURE }, url: URL });
    expect(result).toMatchObject({ reason: 'missing_header' });
  });

  it('fails with malformed_header for a non-numeric timestamp', async () => {
    const result = await verify({
      headers: { ...headers, 'x-hubspot-request-timestamp': '2019-07-26T04:00:00Z' },
      url: URL,
    });
    expect(result).toMatchObject({ reason: 'malformed_header' });
  });

  it('does not fall back to a valid v1 signature when the v3 one is wrong (no downgrade)', async () => {
    const wrongV3 = signHubSpotV3({ url: URL, body: BODY, secret: 'other', timestamp: TS });
    const request = { headers: { ...wrongV3, ...signHubSpotV1({ body: BODY, secret: SECRET }) }, url: URL };
    expect(await verify(request)).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('throws VerifierUsageError without request.url', async () => {
    await expect(verify({ headers })).rejects.toBeInstanceOf(VerifierUsageError);
  });
});

describe('verifyWebhook(hubspot, v1 and v2)', () => {
  it('accepts the documented v1 example', async () => {
    const headers = { 'x-hubspot-signature': V1_SIGNATURE, 'x-hubspot-signature-version': 'v1' };
    expect(await verify({ headers })).toEqual({ ok: true, secretIndex: 0 });
  });

  it('treats an absent version header as v1', async () => {
    expect(await verify({ headers: { 'x-hubspot-signature': V1_SIGNATURE } })).toMatchObject({ ok: true });
  });

  it('signHubSpotV1 reproduces the documented v1 example', () => {
    expect(signHubSpotV1({ body: BODY, secret: SECRET })['x-hubspot-signature']).toBe(V1_SIGNATURE);
  });

  it('accepts the documented v2 GET example', async () => {
    const headers = { 'x-hubspot-signature': V2_GET_SIGNATURE, 'x-hubspot-signature-version': 'v2' };
    expect(await verify({ headers, body: '', url: URL, method: 'GET' })).toEqual({ ok: true, secretIndex: 0 });
  });

  it('signHubSpotV2 reproduces the documented v2 example', () => {
    expect(signHubSpotV2({ url: URL, body: '', secret: SECRET, method: 'GET' })['x-hubspot-signature']).toBe(
      V2_GET_SIGNATURE,
    );
  });

  it('rejects the v2 example on another URL with signature_mismatch', async () => {
    const headers = { 'x-hubspot-signature': V2_GET_SIGNATURE, 'x-hubspot-signature-version': 'v2' };
    const result = await verify({ headers, body: '', url: `${URL}?x=1`, method: 'GET' });
    expect(result).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('throws VerifierUsageError for v2 without request.url', async () => {
    const headers = { 'x-hubspot-signature': V2_GET_SIGNATURE, 'x-hubspot-signature-version': 'v2' };
    await expect(verify({ headers, body: '', method: 'GET' })).rejects.toBeInstanceOf(VerifierUsageError);
  });

  it('fails with malformed_header for an unknown signature version', async () => {
    const headers = { 'x-hubspot-signature': V1_SIGNATURE, 'x-hubspot-signature-version': 'v4' };
    expect(await verify({ headers })).toMatchObject({ reason: 'malformed_header' });
  });

  it('rejects the v1 signature on a changed body with signature_mismatch', async () => {
    const result = await verify({ headers: { 'x-hubspot-signature': V1_SIGNATURE }, body: BODY.replace('123', '124') });
    expect(result).toMatchObject({ reason: 'signature_mismatch' });
  });
});
