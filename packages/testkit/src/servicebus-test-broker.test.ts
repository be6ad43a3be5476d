import { createHmac } from 'node:crypto';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';
import rhea from 'rhea';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ServiceBusTestBroker, startServiceBusTestBroker } from './servicebus-test-broker.js';

// These tests speak raw AMQP (rhea) to pin the wire behaviour the Service Bus SDK relies on; the
// SDK itself is exercised against the broker in @webhooks/sync-trigger, where it is installed.
let broker: ServiceBusTestBroker;
const connections: Connection[] = [];

beforeAll(async () => {
  broker = await startServiceBusTestBroker({ queues: ['q'], maxMessageSizeInBytes: 65_536 });
});

afterAll(async () => {
  for (const connection of connections) connection.close();
  await broker.close();
});

async function connect(port = broker.port): Promise<Connection> {
  const container = rhea.create_container();
  container.on('error', () => {});
  const connection = container.connect({ host: '127.0.0.1', port, reconnect: false });
  connections.push(connection);
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('disconnected', (context: EventContext) => reject(context.error ?? new Error('disconnected')));
  });
  return connection;
}

function sasToken(audience: string, key: string, keyName = 'local'): string {
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const sr = encodeURIComponent(audience);
  const sig = encodeURIComponent(createHmac('sha256', key).update(`${sr}\n${expiry}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiry}&skn=${keyName}`;
}

/** Opens the $cbs request/reply pair the SDK opens, and puts one token. */
async function putToken(connection: Connection, token: string, audience: string): Promise<Message> {
  const replyTo = `cbs-${Math.random().toString(16).slice(2)}`;
  const receiver: Receiver = connection.open_receiver({ source: { address: '$cbs' }, name: replyTo });
  const sender: Sender = connection.open_sender({ target: { address: '$cbs' } });
  const reply = new Promise<Message>((resolve) =>
    receiver.once('message', (context: EventContext) => resolve(context.message!)),
  );
  await new Promise<void>((resolve) => sender.once('sendable', () => resolve()));
  sender.send({
    message_id: 'req-1',
    reply_to: replyTo,
    body: token,
    application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience },
  });
  return reply;
}

describe('the Service Bus test broker on the wire', () => {
  test('answers $cbs put-token on the reply link with the correlation id and 200', async () => {
    const connection = await connect();
    const audience = `sb://127.0.0.1:${broker.port}/q`;
    const reply = await putToken(connection, sasToken(audience, 'local'), audience);
    expect(reply.correlation_id).toBe('req-1');
    expect(reply.application_properties?.['status-code']).toBe(200);
  });

  test('answers 401 for a token signed with another key', async () => {
    const connection = await connect();
    const audience = `sb://127.0.0.1:${broker.port}/q`;
    const reply = await putToken(connection, sasToken(audience, 'other-key'), audience);
    expect(reply.application_properties?.['status-code']).toBe(401);
    expect(broker.stats().rejectedTokens).toBeGreaterThan(0);
  });

  test('announces max_message_size to an authorised sender and accepts its message', async () => {
    const connection = await connect();
    const audience = `sb://127.0.0.1:${broker.port}/q`;
    await putToken(connection, sasToken(audience, 'local'), audience);
    const sender = connection.open_sender({ target: { address: 'q' } });
    await new Promise<void>((resolve) => sender.once('sendable', () => resolve()));
    expect(Number(sender.max_message_size)).toBe(65_536);
    const accepted = new Promise<void>((resolve) => sender.once('accepted', () => resolve()));
    sender.send({ message_id: 'raw-1', body: 'hello' });
    await accepted;
    expect(broker.messages('q').map((m) => [m.messageId, m.body, m.batched])).toEqual([['raw-1', 'hello', false]]);
  });

  test('refuses an unknown queue with amqp:not-found, and a queue without a token with unauthorized-access', async () => {
    const connection = await connect();
    const audience = `sb://127.0.0.1:${broker.port}/q`;
    await putToken(connection, sasToken(audience, 'local'), audience);
    const missing = connection.open_sender({ target: { address: 'missing' } });
    const missingError = await new Promise<unknown>((resolve) =>
      missing.once('sender_close', () => resolve(missing.error)),
    );
    expect(missingError).toMatchObject({ condition: 'amqp:not-found' });

    const anonymous = await connect();
    const unauthorised = anonymous.open_sender({ target: { address: 'q' } });
    const authError = await new Promise<unknown>((resolve) =>
      unauthorised.once('sender_close', () => resolve(unauthorised.error)),
    );
    expect(authError).toMatchObject({ condition: 'amqp:unauthorized-access' });
  });

  test("a broker brought back with the old one's duplicate history drops a repeat of what it had accepted", async () => {
    /** Sends one message with this id to queue d of the broker on `port`, and waits for its disposition. */
    const sendOnce = async (port: number, messageId: string): Promise<void> => {
      const connection = await connect(port);
      const audience = `sb://127.0.0.1:${port}/d`;
      await putToken(connection, sasToken(audience, 'local'), audience);
      const sender = connection.open_sender({ target: { address: 'd' } });
      await new Promise<void>((resolve) => sender.once('sendable', () => resolve()));
      const settled = new Promise<void>((resolve) => sender.once('settled', () => resolve()));
      sender.send({ message_id: messageId, body: messageId });
      await settled;
      connection.close();
    };
    const options = { queues: [{ name: 'd', requiresDuplicateDetection: true }] };
    const first = await startServiceBusTestBroker(options);
    await sendOnce(first.port, 'm-1');
    await first.close();
    expect(first.duplicateHistory()).toEqual({ d: { 'm-1': expect.any(Number) } });

    const back = await startServiceBusTestBroker({
      ...options,
      port: first.port,
      duplicateHistory: first.duplicateHistory(),
    });
    const fresh = await startServiceBusTestBroker(options);
    try {
      await sendOnce(back.port, 'm-1');
      await sendOnce(back.port, 'm-2');
      expect(back.messages('d').map((m) => m.messageId)).toEqual(['m-2']);
      expect(back.stats().duplicatesDropped).toBe(1);
      // Without the history, a new broker takes the repeat: what the reliability suite must not count on.
      await sendOnce(fresh.port, 'm-1');
      expect(fresh.messages('d').map((m) => m.messageId)).toEqual(['m-1']);
    } finally {
      await back.close();
      await fresh.close();
    }
  });

  test('messages() refuses a queue the broker does not have', () => {
    expect(() => broker.messages('nope')).toThrow('no queue named nope');
  });
});
