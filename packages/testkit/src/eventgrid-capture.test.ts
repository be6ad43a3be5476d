import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type EventGridCapture, startEventGridCapture } from './eventgrid-capture.js';

const KEY = 'capture-key';
let capture: EventGridCapture;

beforeAll(async () => {
  capture = await startEventGridCapture({ key: KEY });
});

afterAll(async () => {
  await capture.close();
});

beforeEach(() => {
  capture.requests.length = 0;
  capture.events.length = 0;
});

const cloudEvent = { specversion: '1.0', id: 'e1', source: '/test', type: 'webhook.received', data: { a: 1 } };
const gridEvent = {
  id: 'e2',
  subject: '/s',
  eventType: 'webhook.received',
  eventTime: '2025-01-01T00:00:00Z',
  dataVersion: '1.0',
  data: {},
};

function post(
  body: unknown,
  headers: Record<string, string>,
  path = '/api/events?api-version=2018-01-01',
): Promise<Response> {
  return fetch(`${capture.endpoint.replace('/api/events', '')}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('startEventGridCapture', () => {
  test('accepts a CloudEvents batch with the right key and keeps its events', async () => {
    const res = await post([cloudEvent], {
      'aeg-sas-key': KEY,
      'content-type': 'application/cloudevents-batch+json; charset=utf-8',
    });
    expect(res.status).toBe(200);
    expect(capture.events).toEqual([{ schema: 'CloudEvent', event: cloudEvent }]);
    expect(capture.requests[0]).toMatchObject({ method: 'POST', status: 200, schema: 'CloudEvent' });
  });

  test('accepts an Event Grid schema array sent as application/json', async () => {
    const res = await post([gridEvent], { 'aeg-sas-key': KEY, 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(capture.events[0]?.schema).toBe('EventGrid');
  });

  test('answers 401 without the key or with another key, and keeps the request', async () => {
    expect((await post([cloudEvent], { 'content-type': 'application/cloudevents-batch+json' })).status).toBe(401);
    expect(
      (await post([cloudEvent], { 'aeg-sas-key': 'nope', 'content-type': 'application/cloudevents-batch+json' }))
        .status,
    ).toBe(401);
    expect(capture.requests.map((r) => r.status)).toEqual([401, 401]);
    expect(capture.events).toEqual([]);
  });

  test('answers 400 for a body that is not a valid batch of the schema', async () => {
    const headers = { 'aeg-sas-key': KEY, 'content-type': 'application/cloudevents-batch+json' };
    expect((await post('not json', headers)).status).toBe(400);
    expect((await post([{ id: 'x' }], headers)).status).toBe(400);
    expect((await post([{ ...cloudEvent, specversion: '0.3' }], headers)).status).toBe(400);
    expect((await post([], headers)).status).toBe(400);
    expect((await post([cloudEvent], { 'aeg-sas-key': KEY, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post([cloudEvent], headers, '/api/events')).status).toBe(400);
    expect((await post([cloudEvent], headers, '/other')).status).toBe(404);
  });

  test('failNext simulates failures, then recovers', async () => {
    capture.failNext(2, 500);
    const headers = { 'aeg-sas-key': KEY, 'content-type': 'application/cloudevents-batch+json' };
    expect((await post([cloudEvent], headers)).status).toBe(500);
    expect((await post([cloudEvent], headers)).status).toBe(500);
    expect((await post([cloudEvent], headers)).status).toBe(200);
    expect(capture.events).toHaveLength(1);
  });
});
