import { describe, expect, it } from 'vitest';
import { handshakeResponse, verifyWebhook } from './index.js';
import { type MsGraphNotification, signMsGraph } from './msgraph.js';

// The change notification example from Microsoft Graph's "Receive change notifications" docs.
const DOC_BODY = `{
  "value": [
    {
      "id": "lsgTZMr9KwAAA",
      "subscriptionId": "{subscription_guid}",
      "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
      "clientState": "secretClientValue",
      "changeType": "created",
      "resource": "users/{user_guid}@{tenant_guid}/messages/{long_id_string}",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
      "resourceData": {
        "@odata.type": "#Microsoft.Graph.Message",
        "@odata.id": "Users/{user_guid}@{tenant_guid}/Messages/{long_id_string}",
        "@odata.etag": "W/\\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\\"",
        "id": "{long_id_string}"
      }
    }
  ]
}`;

const notification = (n: number): MsGraphNotification => ({
  subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07',
  changeType: 'updated',
  resource: `Users/u1/Messages/m${n}`,
  resourceData: { id: `m${n}` },
});

const verify = (body: string, secrets = ['secretClientValue', 'nextClientValue']) =>
  verifyWebhook('msgraph', { headers: { 'content-type': 'application/json' }, body }, { secrets });

describe('verifyWebhook(msgraph, ...)', () => {
  it('accepts the documented notification with its clientState', async () => {
    expect(await verify(DOC_BODY)).toEqual({ ok: true, secretIndex: 0 });
  });

  it('reports secretIndex 1 for a batch under the second secret', async () => {
    const body = signMsGraph({ notifications: [notification(1), notification(2)], secret: 'nextClientValue' });
    expect(await verify(body)).toEqual({ ok: true, secretIndex: 1 });
  });

  it('rejects a batch in which one item has another clientState', async () => {
    const body = JSON.stringify({
      value: [
        { ...notification(1), clientState: 'secretClientValue' },
        { ...notification(2), clientState: 'forged' },
      ],
    });
    expect(await verify(body)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects a batch whose items match different secrets', async () => {
    const body = JSON.stringify({
      value: [
        { ...notification(1), clientState: 'secretClientValue' },
        { ...notification(2), clientState: 'nextClientValue' },
      ],
    });
    expect(await verify(body)).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects an item without clientState with signature_mismatch', async () => {
    const body = JSON.stringify({ value: [{ ...notification(1), clientState: 'secretClientValue' }, notification(2)] });
    const result = await verify(body);
    expect(result).toMatchObject({ ok: false, reason: 'signature_mismatch' });
    if (!result.ok) expect(result.message).toContain('clientState');
  });

  it('fails with malformed_header, about the body, for non-JSON, no value array, or an empty one', async () => {
    for (const body of ['not json', '{}', '{"value":[]}', '{"value":{}}', '[]', '{"value":[1]}']) {
      const result = await verify(body);
      expect(result).toMatchObject({ ok: false, reason: 'malformed_header' });
      if (!result.ok) expect(result.message).toContain('body');
    }
  });

  it('fails closed with no_secret for an empty secret list', async () => {
    expect(await verify(DOC_BODY, [])).toMatchObject({ reason: 'no_secret' });
  });

  it('signMsGraph sets clientState on every notification', () => {
    const body = JSON.parse(signMsGraph({ notifications: [notification(1), notification(2)], secret: 's' })) as {
      value: Array<{ clientState: string }>;
    };
    expect(body.value.map((item) => item.clientState)).toEqual(['s', 's']);
  });
});

describe('handshakeResponse(msgraph, ...)', () => {
  const TOKEN = 'Validation: Testing client application reachability for subscription Request-Id: 5e7c8b2a';
  const url = `https://hooks.example.com/webhooks/reg_graph?validationToken=${encodeURIComponent(TOKEN)}`;
  const request = (overrides: { url?: string; method?: string }) => ({
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: '',
    url,
    method: 'POST',
    ...overrides,
  });

  it('answers a POST with validationToken with the decoded token as text/plain', async () => {
    expect(await handshakeResponse('msgraph', request({}), { secrets: [] })).toEqual({
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: TOKEN,
    });
  });

  it('answers when the method is absent and when the URL is a path only', async () => {
    const path = url.slice('https://hooks.example.com'.length);
    expect(await handshakeResponse('msgraph', { headers: {}, body: '', url }, { secrets: [] })).toMatchObject({
      body: TOKEN,
    });
    expect(await handshakeResponse('msgraph', request({ url: path }), { secrets: [] })).toMatchObject({ body: TOKEN });
  });

  it('decodes + as a space', async () => {
    const plus = 'https://hooks.example.com/x?validationToken=a+b%2Bc';
    expect(await handshakeResponse('msgraph', request({ url: plus }), { secrets: [] })).toMatchObject({
      body: 'a b+c',
    });
  });

  it('returns null for a GET', async () => {
    expect(await handshakeResponse('msgraph', request({ method: 'GET' }), { secrets: [] })).toBeNull();
  });

  it('returns null without validationToken, with an empty one, or with two', async () => {
    for (const bad of [
      'https://h.example/x',
      'https://h.example/x?validationToken=',
      'https://h.example/x?validationToken=a&validationToken=b',
    ]) {
      expect(await handshakeResponse('msgraph', request({ url: bad }), { secrets: [] })).toBeNull();
    }
  });

  it('returns null for a token over 8 KB', async () => {
    const long = `https://h.example/x?validationToken=${'a'.repeat(8 * 1024 + 1)}`;
    expect(await handshakeResponse('msgraph', request({ url: long }), { secrets: [] })).toBeNull();
    const max = `https://h.example/x?validationToken=${'a'.repeat(8 * 1024)}`;
    expect(await handshakeResponse('msgraph', request({ url: max }), { secrets: [] })).not.toBeNull();
  });

  it('returns null without request.url', async () => {
    expect(await handshakeResponse('msgraph', { headers: {}, body: '' }, { secrets: [] })).toBeNull();
  });
});
