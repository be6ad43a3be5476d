import {
  AzureKeyCredential,
  EventGridPublisherClient,
  type EventGridPublisherClientOptions,
  type SendCloudEventInput,
  type SendEventGridEventInput,
} from '@azure/eventgrid';
import { type EventPublisher, type PublishedEvent, WebhookError } from '@webhooks/core';

/** Event Grid takes at most 1 MB per request; the default leaves room for the SDK's envelope. */
const DEFAULT_MAX_BATCH_BYTES = 1_000_000;
const DEFAULT_MAX_BATCH_EVENTS = 100;
/** What the SDK adds around each event (specversion, datacontenttype, separators), generously. */
const ENVELOPE_BYTES = 256;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type EventGridSchema = 'CloudEvent' | 'EventGrid';

export interface EventGridPublisherOptions {
  /** The topic endpoint, e.g. `https://my-topic.westeurope-1.eventgrid.azure.net/api/events`. */
  endpoint: string;
  /** The topic access key. */
  key: string;
  /** CloudEvents 1.0 (the default) or the Event Grid schema; it must match the topic's input schema. */
  schema?: EventGridSchema;
  /** CloudEvents `source` (default `/webhooks`). */
  source?: string;
  /** Event Grid schema `dataVersion` (default `1.0`). */
  dataVersion?: string;
  /** Events per request (default 100). */
  maxEventsPerBatch?: number;
  /** Serialized bytes per request (default 1 000 000, under Event Grid's 1 MB). */
  maxBatchSizeInBytes?: number;
  /** HTTP retries of the SDK pipeline for 408, 429, 5xx and network errors (its default: 3, exponential). */
  retryOptions?: EventGridPublisherClientOptions['retryOptions'];
}

type Input = SendCloudEventInput<unknown> | SendEventGridEventInput<unknown>;

/**
 * An EventPublisher that publishes `webhook.received` to an Event Grid topic. The registration in
 * each event goes out without its secrets, even when a caller left them in. Events are sent in
 * batches under Event Grid's size and count limits; a failed batch does not stop the others, and
 * the promise then rejects with one WebhookError that says what failed (the service logs it and
 * carries on: a publish failure never fails a webhook).
 */
export class EventGridPublisher implements EventPublisher {
  readonly schema: EventGridSchema;
  readonly #client: EventGridPublisherClient<'CloudEvent'> | EventGridPublisherClient<'EventGrid'>;
  readonly #source: string;
  readonly #dataVersion: string;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #host: string;

  constructor(options: EventGridPublisherOptions) {
    const url = parseEndpoint(options.endpoint);
    if (!options.key) throw new WebhookError('invalid_request', 'Event Grid publisher needs the topic key');
    this.schema = options.schema ?? 'CloudEvent';
    this.#source = options.source ?? '/webhooks';
    this.#dataVersion = options.dataVersion ?? '1.0';
    this.#maxEvents = Math.max(1, options.maxEventsPerBatch ?? DEFAULT_MAX_BATCH_EVENTS);
    this.#maxBytes = Math.max(1024, options.maxBatchSizeInBytes ?? DEFAULT_MAX_BATCH_BYTES);
    this.#host = url.host;
    const clientOptions = {
      // Plain HTTP only ever for a local test server; a real topic is always https.
      allowInsecureConnection: url.protocol === 'http:',
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
    };
    const credential = new AzureKeyCredential(options.key);
    this.#client =
      this.schema === 'CloudEvent'
        ? new EventGridPublisherClient(url.href, 'CloudEvent', credential, clientOptions)
        : new EventGridPublisherClient(url.href, 'EventGrid', credential, clientOptions);
  }

  async publish(events: PublishedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const failures: string[] = [];
    let failed = 0;
    let lastError: unknown;
    for (const batch of this.#batches(events.map((event) => this.toInput(event)))) {
      if ('tooLarge' in batch) {
        failed++;
        failures.push(`event ${batch.tooLarge} is larger than ${this.#maxBytes} bytes`);
        continue;
      }
      try {
        await this.#send(batch.inputs);
      } catch (error) {
        failed += batch.inputs.length;
        failures.push(describeFailure(error));
        lastError = error;
      }
    }
    if (failed > 0) {
      const status = statusOf(lastError);
      throw new WebhookError(
        'internal',
        `Event Grid publish to ${this.#host} failed for ${failed} of ${events.length} events: ${[...new Set(failures)].join('; ')}`,
        { status: 502, reason: status ? `eventgrid_${status}` : 'eventgrid_unavailable' },
      );
    }
  }

  /** The wire input for one event, in the configured schema, with the registration's secrets removed. */
  toInput(event: PublishedEvent): Input {
    const data = withoutSecrets(event.data);
    if (this.schema === 'CloudEvent') {
      return {
        type: event.eventType,
        source: this.#source,
        subject: event.subject,
        id: event.id,
        time: event.eventTime,
        datacontenttype: 'application/json',
        data,
      };
    }
    return {
      eventType: event.eventType,
      subject: event.subject,
      dataVersion: this.#dataVersion,
      eventTime: event.eventTime,
      id: event.id,
      data,
    };
  }

  *#batches(inputs: Input[]): Generator<{ inputs: Input[] } | { tooLarge: string }> {
    let current: Input[] = [];
    let bytes = 0;
    for (const input of inputs) {
      const size = Buffer.byteLength(JSON.stringify(input)) + ENVELOPE_BYTES;
      if (size > this.#maxBytes) {
        yield { tooLarge: input.id ?? '?' };
        continue;
      }
      if (current.length > 0 && (current.length >= this.#maxEvents || bytes + size > this.#maxBytes)) {
        yield { inputs: current };
        current = [];
        bytes = 0;
      }
      current.push(input);
      bytes += size;
    }
    if (current.length > 0) yield { inputs: current };
  }

  async #send(inputs: Input[]): Promise<void> {
    // The client's type follows the schema chosen in the constructor, and so do the inputs.
    if (this.schema === 'CloudEvent') {
      await (this.#client as EventGridPublisherClient<'CloudEvent'>).send(inputs as SendCloudEventInput<unknown>[]);
    } else {
      await (this.#client as EventGridPublisherClient<'EventGrid'>).send(inputs as SendEventGridEventInput<unknown>[]);
    }
  }
}

/** A copy of the event data whose registration has no `webhookSecret` or `previousSecrets`, whatever the caller passed. */
export function withoutSecrets(data: PublishedEvent['data']): PublishedEvent['data'] {
  const {
    webhookSecret: _secret,
    previousSecrets: _previous,
    ...webhook
  } = data.webhook as PublishedEvent['data']['webhook'] & {
    webhookSecret?: unknown;
    previousSecrets?: unknown;
  };
  return { ...data, webhook };
}

function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new WebhookError('invalid_request', 'Event Grid endpoint is not a URL');
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)) return url;
  throw new WebhookError(
    'invalid_request',
    `Event Grid endpoint must use https (plain http is allowed only for 127.0.0.1 or localhost), got ${url.protocol}//${url.host}`,
  );
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** A short, key-free account of a failed request: the SDK's error carries the request and its headers. */
function describeFailure(error: unknown): string {
  const status = statusOf(error);
  if (status === 401 || status === 403) return `the topic key was rejected (${status})`;
  if (status === 404) return 'the topic endpoint was not found (404)';
  if (status === 413) return 'the batch was too large (413)';
  if (status !== undefined) {
    const code = (error as { code?: unknown }).code;
    return `Event Grid answered ${status}${typeof code === 'string' && code ? ` ${code}` : ''}`;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code) return `Event Grid is unreachable (${code})`;
  return 'Event Grid is unreachable';
}
