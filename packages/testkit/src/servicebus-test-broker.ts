import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Connection, Delivery, EventContext, Message, Receiver, Sender } from 'rhea';
import rhea from 'rhea';

/** The message format of a Service Bus batch: each data section of the body is one encoded message. */
const BATCH_FORMAT = 0x80013700;
const DATA_SECTION = 0x75;
const DEAD_LETTER_SUFFIX = '/$deadletterqueue';

export interface ServiceBusTestQueueOptions {
  name: string;
  /** Drop a message whose messageId was accepted within the window, as a queue created with it does. */
  requiresDuplicateDetection?: boolean;
  duplicateDetectionWindowMs?: number;
  /** How long a peek-locked message stays invisible to other receivers. */
  lockDurationMs?: number;
  /** Deliveries after which an abandoned message moves to the dead-letter queue. */
  maxDeliveryCount?: number;
}

export interface ServiceBusTestBrokerOptions {
  /** 0 (the default) picks a free port; pass the old port to bring a closed broker "back". */
  port?: number;
  host?: string;
  queues: Array<string | ServiceBusTestQueueOptions>;
  /** Default for queues given by name only. */
  requiresDuplicateDetection?: boolean;
  duplicateDetectionWindowMs?: number;
  /** Announced as max_message_size when a sender attaches (the SDK sizes batches by it). */
  maxMessageSizeInBytes?: number;
  /** The only key the broker accepts in put-token; a token signed with anything else gets 401. */
  sharedAccessKeyName?: string;
  sharedAccessKey?: string;
  /**
   * Duplicate-detection history to start from (`duplicateHistory()` of the broker that went down):
   * a broker brought back keeps it, as a Service Bus namespace keeps it across an outage, so a
   * message it accepted just before going down is still dropped if it is sent again.
   */
  duplicateHistory?: ServiceBusTestDuplicateHistory;
}

/** Per queue (lower-case name): messageId to the time (ms) until which a repeat is dropped. */
export type ServiceBusTestDuplicateHistory = Record<string, Record<string, number>>;

export type ServiceBusTestMessageState = 'active' | 'locked' | 'completed' | 'dead-lettered';

/** What a queue accepted, as a test wants to look at it. */
export interface ServiceBusTestMessage {
  sequenceNumber: number;
  messageId?: string;
  sessionId?: string;
  subject?: string;
  contentType?: string;
  correlationId?: string;
  /** Parsed when the data section holds JSON, else the raw bytes or the AMQP value. */
  body: unknown;
  applicationProperties: Record<string, unknown>;
  enqueuedAt: Date;
  /** Deliveries that ended without a complete (abandon, lock expiry). */
  deliveryCount: number;
  state: ServiceBusTestMessageState;
  /** True when it arrived inside a batch transfer (format 0x80013700). */
  batched: boolean;
}

export interface ServiceBusTestBrokerStats {
  connections: number;
  /** Transfers from senders (a batch counts once). */
  transfers: number;
  batches: number;
  duplicatesDropped: number;
  putTokens: number;
  rejectedTokens: number;
}

export interface ServiceBusTestBroker {
  /** `Endpoint=sb://127.0.0.1:PORT;SharedAccessKeyName=...;SharedAccessKey=...;UseDevelopmentEmulator=true` */
  connectionString: string;
  port: number;
  /** Everything the queue accepted (duplicates dropped), oldest first; `name/$DeadLetterQueue` for dead letters. */
  messages(queue: string): ServiceBusTestMessage[];
  stats(): ServiceBusTestBrokerStats;
  /** The duplicate-detection history, for `duplicateHistory` of a broker that takes over. */
  duplicateHistory(): ServiceBusTestDuplicateHistory;
  /** Stops listening and drops every connection at once, as a broker that goes down does. */
  close(): Promise<void>;
}

interface StoredMessage {
  record: ServiceBusTestMessage;
  amqp: Message;
  lockedBy?: Delivery;
  lockTimer?: NodeJS.Timeout;
}

interface Entity {
  name: string;
  lockDurationMs: number;
  maxDeliveryCount: number;
  duplicateWindowMs: number;
  messages: StoredMessage[];
  /** Index of the oldest message that may still be active, so sends stay O(1) on a long queue. */
  head: number;
  consumers: Set<Sender>;
  seen: Map<string, number>;
  deadLetter?: Entity;
}

/** rhea keeps the local attach frame out of its typings; the broker must fill in what it announces. */
interface LinkInternals {
  credit: number;
  local: { attach: { max_message_size?: number; snd_settle_mode?: number; rcv_settle_mode?: number } };
}

/** An outcome as rhea unwraps it; `described()` gives it back in wire form. */
interface Described {
  described?: () => unknown;
}

interface Section {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

/**
 * TEST FIXTURE, not a message broker: a small AMQP 1.0 server (rhea) that speaks enough of the
 * Azure Service Bus dialect for the real `@azure/service-bus` SDK to send, batch-send, peek-lock
 * receive, complete, abandon and dead-letter against queues held in memory. It answers `$cbs`
 * put-token (checking the SAS signature), announces max_message_size, decodes batches, honours
 * drain, settles each delivery after its disposition and can drop duplicates by messageId.
 * Not supported: sessions on the receive side, `$management` (peek, schedule, renew-lock,
 * deferral), topics and subscriptions, transactions, TLS. Use a real namespace for those.
 */
export async function startServiceBusTestBroker(options: ServiceBusTestBrokerOptions): Promise<ServiceBusTestBroker> {
  const keyName = options.sharedAccessKeyName ?? 'local';
  const key = options.sharedAccessKey ?? 'local';
  const maxMessageSize = options.maxMessageSizeInBytes ?? 256 * 1024;
  const entities = new Map<string, Entity>();
  const stats: ServiceBusTestBrokerStats = {
    connections: 0,
    transfers: 0,
    batches: 0,
    duplicatesDropped: 0,
    putTokens: 0,
    rejectedTokens: 0,
  };
  let sequence = 0;
  let closed = false;

  for (const queue of options.queues) {
    const spec = typeof queue === 'string' ? { name: queue } : queue;
    const dedupe = spec.requiresDuplicateDetection ?? options.requiresDuplicateDetection ?? false;
    const entity = newEntity(spec.name, {
      lockDurationMs: spec.lockDurationMs ?? 60_000,
      maxDeliveryCount: spec.maxDeliveryCount ?? 10,
      duplicateWindowMs: dedupe
        ? (spec.duplicateDetectionWindowMs ?? options.duplicateDetectionWindowMs ?? 600_000)
        : 0,
    });
    entity.deadLetter = newEntity(`${spec.name}/$DeadLetterQueue`, { ...entity, duplicateWindowMs: 0 });
    for (const [messageId, until] of Object.entries(options.duplicateHistory?.[spec.name.toLowerCase()] ?? {})) {
      entity.seen.set(messageId, until);
    }
    entities.set(spec.name.toLowerCase(), entity);
    entities.set(entity.deadLetter.name.toLowerCase(), entity.deadLetter);
  }

  /** Audience paths each connection has put a valid token for ('' = the whole namespace). */
  const authorized = new WeakMap<Connection, string[]>();
  const cbsReplyLinks = new Set<Sender>();
  const locks = new WeakMap<Delivery, StoredMessage>();
  const consumerEntity = new WeakMap<Sender, Entity>();

  const container = rhea.create_container({ id: 'servicebus-test-broker' });
  // Without listeners rhea throws link errors from the container and warns on every disconnect.
  container.on('error', () => {});
  container.on('disconnected', () => {});
  container.on('connection_open', () => {
    stats.connections++;
  });

  container.on('receiver_open', (context: EventContext) => {
    const receiver = context.receiver!;
    mirrorSettleModes(receiver);
    const address = addressOf(receiver.target);
    receiver.set_target({ address });
    if (address === '$cbs') {
      receiver.add_credit(100);
      return;
    }
    const entity = entities.get(address.toLowerCase());
    if (!entity || address.toLowerCase().endsWith(DEAD_LETTER_SUFFIX)) {
      refuse(receiver, notFound(address));
      return;
    }
    if (!isAuthorized(context.connection, entity.name)) {
      refuse(receiver, unauthorized(entity.name));
      return;
    }
    internals(receiver).local.attach.max_message_size = maxMessageSize;
    receiver.add_credit(500);
  });

  container.on('sender_open', (context: EventContext) => {
    const sender = context.sender!;
    mirrorSettleModes(sender);
    const address = addressOf(sender.source);
    sender.set_source({ address });
    if (address === '$cbs') {
      cbsReplyLinks.add(sender);
      return;
    }
    if (address.toLowerCase().endsWith('/$management') || address === '$management') {
      refuse(sender, {
        condition: 'amqp:not-implemented',
        description: 'The Service Bus test broker has no $management node (peek, schedule, renew-lock, deferral).',
      });
      return;
    }
    const entity = entities.get(address.toLowerCase());
    if (!entity) {
      refuse(sender, notFound(address));
      return;
    }
    if (!isAuthorized(context.connection, entity.name)) {
      refuse(sender, unauthorized(entity.name));
      return;
    }
    const filter = (sender.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    if (filter && 'com.microsoft:session-filter' in filter) {
      refuse(sender, {
        condition: 'amqp:not-implemented',
        description: 'The Service Bus test broker does not support session receivers.',
      });
      return;
    }
    entity.consumers.add(sender);
    consumerEntity.set(sender, entity);
    pump(entity);
  });

  const pumpOf = (context: EventContext): void => {
    const entity = context.sender ? consumerEntity.get(context.sender) : undefined;
    if (entity) pump(entity);
  };
  container.on('sendable', pumpOf);
  container.on('sender_draining', pumpOf);
  container.on('sender_close', (context: EventContext) => {
    const sender = context.sender!;
    cbsReplyLinks.delete(sender);
    consumerEntity.get(sender)?.consumers.delete(sender);
  });

  container.on('message', (context: EventContext) => {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const address = addressOf(receiver.target);
    if (internals(receiver).credit < 250) receiver.add_credit(500 - internals(receiver).credit);
    if (address === '$cbs') {
      answerPutToken(context);
      delivery.accept();
      return;
    }
    const entity = entities.get(address.toLowerCase());
    if (!entity) {
      delivery.reject(notFound(address));
      return;
    }
    stats.transfers++;
    const payload = context.message as unknown;
    const format = (context as { format?: number }).format;
    if (format === BATCH_FORMAT && Buffer.isBuffer(payload)) {
      stats.batches++;
      const envelope = decode(payload);
      const body = envelope.body as unknown;
      const parts = isSection(body) ? (body.multiple ? (body.content as unknown[]) : [body.content]) : [];
      for (const part of parts) {
        if (Buffer.isBuffer(part)) enqueue(entity, decode(part), true);
      }
    } else if (context.message) {
      enqueue(entity, context.message, false);
    }
    delivery.accept();
  });

  for (const outcome of ['accepted', 'rejected', 'modified', 'released'] as const) {
    container.on(outcome, (context: EventContext) => settle(context, outcome));
  }

  function newEntity(
    name: string,
    limits: Pick<Entity, 'lockDurationMs' | 'maxDeliveryCount' | 'duplicateWindowMs'>,
  ): Entity {
    return {
      name,
      lockDurationMs: limits.lockDurationMs,
      maxDeliveryCount: limits.maxDeliveryCount,
      duplicateWindowMs: limits.duplicateWindowMs,
      messages: [],
      head: 0,
      consumers: new Set(),
      seen: new Map(),
    };
  }

  function enqueue(entity: Entity, amqp: Message, batched: boolean): void {
    const now = Date.now();
    const messageId = amqp.message_id === undefined ? undefined : String(amqp.message_id);
    if (entity.duplicateWindowMs > 0 && messageId !== undefined) {
      const until = entity.seen.get(messageId);
      if (until !== undefined && until > now) {
        stats.duplicatesDropped++;
        return;
      }
      entity.seen.set(messageId, now + entity.duplicateWindowMs);
    }
    const record: ServiceBusTestMessage = {
      sequenceNumber: ++sequence,
      body: readBody(amqp.body as unknown),
      applicationProperties: { ...(amqp.application_properties ?? {}) },
      enqueuedAt: new Date(now),
      deliveryCount: 0,
      state: 'active',
      batched,
    };
    if (messageId !== undefined) record.messageId = messageId;
    if (amqp.group_id !== undefined) record.sessionId = amqp.group_id;
    if (amqp.subject !== undefined) record.subject = amqp.subject;
    if (amqp.content_type !== undefined) record.contentType = amqp.content_type;
    if (amqp.correlation_id !== undefined) record.correlationId = String(amqp.correlation_id);
    entity.messages.push({ record, amqp });
    pump(entity);
  }

  function pump(entity: Entity): void {
    for (const sender of entity.consumers) {
      if (!sender.is_open()) {
        entity.consumers.delete(sender);
        continue;
      }
      while (sender.sendable()) {
        const next = nextActive(entity);
        if (!next) break;
        deliver(entity, sender, next);
      }
      // Nothing left to give: answer a drain request so a waiting receiveMessages returns.
      if (sender.has_credit()) sender.set_drained(true);
    }
  }

  function nextActive(entity: Entity): StoredMessage | undefined {
    while (entity.head < entity.messages.length && entity.messages[entity.head]!.record.state !== 'active') {
      if (entity.messages[entity.head]!.record.state === 'locked') break;
      entity.head++;
    }
    for (let i = entity.head; i < entity.messages.length; i++) {
      const stored = entity.messages[i]!;
      if (stored.record.state === 'active') return stored;
    }
    return undefined;
  }

  function deliver(entity: Entity, sender: Sender, stored: StoredMessage): void {
    const now = Date.now();
    const lockedUntil = new Date(now + entity.lockDurationMs);
    const outgoing: Message = {
      ...stored.amqp,
      delivery_count: stored.record.deliveryCount,
      application_properties: { ...stored.record.applicationProperties },
      message_annotations: {
        ...(stored.amqp.message_annotations ?? {}),
        'x-opt-sequence-number': stored.record.sequenceNumber,
        'x-opt-enqueued-time': stored.record.enqueuedAt,
        'x-opt-locked-until': lockedUntil,
      },
    };
    const delivery = sender.send(outgoing, randomBytes(16));
    if (sender.snd_settle_mode === 1) {
      // receiveAndDelete: the delivery goes out settled and the message is gone.
      stored.record.state = 'completed';
      return;
    }
    stored.record.state = 'locked';
    stored.lockedBy = delivery;
    locks.set(delivery, stored);
    stored.lockTimer = setTimeout(() => {
      if (stored.lockedBy !== delivery) return;
      unlock(entity, stored, true);
    }, entity.lockDurationMs);
    stored.lockTimer.unref();
  }

  function unlock(entity: Entity, stored: StoredMessage, attempted: boolean): void {
    clearTimeout(stored.lockTimer);
    delete stored.lockedBy;
    delete stored.lockTimer;
    if (attempted) stored.record.deliveryCount++;
    if (stored.record.deliveryCount >= entity.maxDeliveryCount && entity.deadLetter) {
      deadLetter(entity, stored, { DeadLetterReason: 'MaxDeliveryCountExceeded' });
      return;
    }
    // The head never moves past a locked message, so the next pump finds this one again.
    stored.record.state = 'active';
    pump(entity);
  }

  function deadLetter(entity: Entity, stored: StoredMessage, info: Record<string, unknown>): void {
    stored.record.state = 'dead-lettered';
    const target = entity.deadLetter;
    if (!target) return;
    const properties = { ...stored.record.applicationProperties, ...definedOnly(info) };
    const record: ServiceBusTestMessage = {
      ...stored.record,
      applicationProperties: properties,
      sequenceNumber: ++sequence,
      state: 'active',
    };
    target.messages.push({ record, amqp: { ...stored.amqp, application_properties: properties } });
    pump(target);
  }

  function settle(context: EventContext, outcome: 'accepted' | 'rejected' | 'modified' | 'released'): void {
    const delivery = context.delivery!;
    const stored = locks.get(delivery);
    const entity = context.sender ? consumerEntity.get(context.sender) : undefined;
    if (!stored || !entity) return;
    locks.delete(delivery);
    if (stored.lockedBy !== delivery) {
      // The lock expired and the message went back to the queue: the settlement is refused.
      delivery.update(
        true,
        outcomes
          .rejected({
            error: {
              condition: 'com.microsoft:message-lock-lost',
              description:
                'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
            },
          })
          .described(),
      );
      return;
    }
    const state = delivery.remote_state as
      | {
          error?: { condition?: string; info?: Record<string, unknown> };
          message_annotations?: Record<string, unknown>;
          undeliverable_here?: boolean;
        }
      | undefined;
    if (outcome === 'accepted') {
      clearTimeout(stored.lockTimer);
      delete stored.lockedBy;
      stored.record.state = 'completed';
    } else if (outcome === 'rejected') {
      clearTimeout(stored.lockTimer);
      delete stored.lockedBy;
      deadLetter(entity, stored, state?.error?.info ?? {});
    } else if (outcome === 'modified') {
      if (state?.message_annotations) Object.assign(stored.record.applicationProperties, state.message_annotations);
      unlock(entity, stored, true);
    } else {
      unlock(entity, stored, false);
    }
    // In peek-lock the SDK waits for the broker to settle before complete/abandon resolves. The
    // outcome is echoed, except that a dead-letter's error must not come back: the SDK would throw it.
    if (delivery.remote_settled) return;
    const echo =
      outcome === 'rejected'
        ? outcomes.rejected({}).described()
        : (delivery.remote_state as Described | undefined)?.described?.();
    delivery.update(true, echo);
  }

  function answerPutToken(context: EventContext): void {
    const request = context.message!;
    stats.putTokens++;
    const props = request.application_properties ?? {};
    const token = typeof request.body === 'string' ? request.body : '';
    const verdict =
      props.operation === 'put-token' ? checkToken(token, String(props.type ?? ''), String(props.name ?? '')) : 400;
    if (verdict === 200) {
      const path = audiencePath(String(props.name ?? ''));
      const list = authorized.get(context.connection) ?? [];
      list.push(path);
      authorized.set(context.connection, list);
    } else {
      stats.rejectedTokens++;
    }
    const replyTo = request.reply_to;
    for (const link of cbsReplyLinks) {
      if (link.connection !== context.connection || !link.is_open()) continue;
      if (addressOf(link.target) !== replyTo && link.name !== replyTo) continue;
      link.send({
        body: null,
        correlation_id: request.message_id,
        to: replyTo,
        application_properties: {
          'status-code': verdict,
          'status-description':
            verdict === 200
              ? 'OK'
              : verdict === 401
                ? 'InvalidSignature: The token has an invalid signature.'
                : 'Bad request',
        },
      });
      return;
    }
  }

  /** Checks a SAS token the way the service does: key name, expiry and the HMAC over "audience\nexpiry". */
  function checkToken(token: string, type: string, audience: string): number {
    if (type !== 'servicebus.windows.net:sastoken' || !token.startsWith('SharedAccessSignature ')) return 401;
    const fields = new URLSearchParams(token.slice('SharedAccessSignature '.length));
    const sr = fields.get('sr') ?? '';
    const se = fields.get('se') ?? '';
    const sig = fields.get('sig') ?? '';
    if (fields.get('skn') !== keyName || Number(se) * 1000 < Date.now()) return 401;
    if (audience && !audience.toLowerCase().startsWith(sr.toLowerCase())) return 401;
    const expected = createHmac('sha256', key)
      .update(`${encodeURIComponent(sr)}\n${se}`)
      .digest();
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected) ? 200 : 401;
  }

  function isAuthorized(connection: Connection, entityName: string): boolean {
    const name = entityName.toLowerCase();
    return (authorized.get(connection) ?? []).some(
      (path) => path === '' || name === path || name.startsWith(`${path}/`),
    );
  }

  const server: Server = container.listen({
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    // The broker hands out link credit itself and settles deliveries explicitly.
    credit_window: 0,
    autoaccept: false,
    treat_modified_as_released: false,
  } as Parameters<typeof container.listen>[0]) as Server;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    connectionString: `Endpoint=sb://${host}:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true`,
    port,
    messages(queue: string): ServiceBusTestMessage[] {
      const entity = entities.get(queue.toLowerCase());
      if (!entity) throw new Error(`The Service Bus test broker has no queue named ${queue}`);
      return entity.messages.map((m) => structuredClone(m.record));
    },
    stats: () => ({ ...stats }),
    duplicateHistory(): ServiceBusTestDuplicateHistory {
      const history: ServiceBusTestDuplicateHistory = {};
      for (const [name, entity] of entities) {
        if (entity.duplicateWindowMs > 0) history[name] = Object.fromEntries(entity.seen);
      }
      return history;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const entity of entities.values()) {
        for (const stored of entity.messages) clearTimeout(stored.lockTimer);
      }
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

/** rhea builds outcomes at run time; its typings only declare the `is_...` checks. */
const outcomes = rhea.message as unknown as {
  rejected(fields: { error?: { condition: string; description: string } }): { described(): unknown };
};

function decode(bytes: Buffer): Message {
  return rhea.message.decode(bytes) as unknown as Message;
}

function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

/** Echo the peer's settle modes: a peek-lock receiver asks for rcv_settle_mode "second". */
function mirrorSettleModes(link: Sender | Receiver): void {
  const attach = internals(link).local.attach;
  if (link.snd_settle_mode !== undefined) attach.snd_settle_mode = link.snd_settle_mode;
  if (link.rcv_settle_mode !== undefined) attach.rcv_settle_mode = link.rcv_settle_mode;
}

/** Refuses a link the way Service Bus does: attach, then detach at once with the error. */
function refuse(link: Sender | Receiver, error: { condition: string; description: string }): void {
  link.close(error);
}

function notFound(address: string): { condition: string; description: string } {
  return {
    condition: 'amqp:not-found',
    description: `The messaging entity '${address}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`,
  };
}

function unauthorized(entity: string): { condition: string; description: string } {
  return {
    condition: 'amqp:unauthorized-access',
    description: `Unauthorized access to '${entity}': no valid token was put on $cbs.`,
  };
}

function addressOf(terminus: unknown): string {
  const address = (terminus as { address?: unknown } | undefined)?.address;
  return typeof address === 'string' ? address : '';
}

function audiencePath(audience: string): string {
  try {
    return decodeURIComponent(new URL(audience).pathname)
      .replace(/^\/+|\/+$/g, '')
      .toLowerCase();
  } catch {
    return audience.toLowerCase();
  }
}

function isSection(value: unknown): value is Section {
  return typeof value === 'object' && value !== null && 'typecode' in value && 'content' in value;
}

function readBody(body: unknown): unknown {
  if (isSection(body) && body.typecode === DATA_SECTION && Buffer.isBuffer(body.content)) {
    const bytes = body.content;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      return Buffer.from(bytes);
    }
  }
  return body;
}

function definedOnly(info: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(info).filter(([, value]) => value !== undefined));
}
