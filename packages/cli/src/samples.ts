import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { salesforceOutboundMessage, signMsGraph } from '@webhooks/verifiers';

/** What a sample needs to look like a fresh delivery: its time and the ids the provider would mint. */
export interface SampleContext {
  /** Milliseconds since the epoch. */
  nowMs: number;
  /** The provider's delivery id for this delivery (a UUID unless the provider uses another form). */
  deliveryId: string;
  /** The secret, for the providers whose proof travels inside the body (Graph's clientState). */
  secret: string;
  /** Salesforce outbound messages carry the org id in the body. */
  salesforceOrganizationId?: string;
}

export interface Sample {
  body: string;
  contentType: string;
}

interface ProviderSamples {
  /** The event types `--event` accepts, the default first. */
  events: readonly string[];
  build(event: string, context: SampleContext): Sample;
}

const json = (value: unknown): Sample => ({ body: JSON.stringify(value, null, 2), contentType: 'application/json' });
const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number): number => Math.floor(ms / 1000);
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const digits = (count: number): string => Array.from({ length: count }, () => randomInt(10)).join('');
/** Salesforce-style ids: a 3-character key prefix and 15 more base-62 characters. */
const sfid = (prefix: string): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + Array.from({ length: 15 }, () => alphabet[randomInt(alphabet.length)]).join('');
};

const GITHUB_REPOSITORY = {
  id: 1296269,
  node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
  name: 'hello-world',
  full_name: 'octocat/hello-world',
  private: false,
  owner: { login: 'octocat', id: 1, type: 'User' },
  html_url: 'https://github.com/octocat/hello-world',
  default_branch: 'main',
};
const GITHUB_SENDER = { login: 'octocat', id: 1, type: 'User' };

const SAMPLES: Record<string, ProviderSamples> = {
  github: {
    events: ['issues', 'pull_request', 'push', 'ping'],
    build(event, { nowMs }) {
      const at = iso(nowMs);
      const number = randomInt(1, 5000);
      switch (event) {
        case 'pull_request':
          return json({
            action: 'opened',
            number,
            pull_request: {
              id: randomInt(1e8, 1e9),
              number,
              title: 'Fix login on mobile',
              state: 'open',
              head: { ref: 'fix-login', sha: hex(20) },
              base: { ref: 'main', sha: hex(20) },
              user: GITHUB_SENDER,
              created_at: at,
              updated_at: at,
            },
            repository: GITHUB_REPOSITORY,
            sender: GITHUB_SENDER,
          });
        case 'push': {
          const after = hex(20);
          return json({
            ref: 'refs/heads/main',
            before: hex(20),
            after,
            commits: [
              {
                id: after,
                message: 'Fix login on mobile',
                timestamp: at,
                author: { name: 'Mona', email: 'mona@example.com' },
              },
            ],
            head_commit: { id: after, message: 'Fix login on mobile', timestamp: at },
            repository: GITHUB_REPOSITORY,
            pusher: { name: 'octocat', email: 'octocat@example.com' },
            sender: GITHUB_SENDER,
          });
        }
        case 'ping':
          return json({
            zen: 'Keep it logically awesome.',
            hook_id: randomInt(1e8, 1e9),
            hook: { type: 'Repository', id: randomInt(1e8, 1e9), active: true, events: ['*'] },
            repository: GITHUB_REPOSITORY,
            sender: GITHUB_SENDER,
          });
        default:
          return json({
            action: 'opened',
            issue: {
              id: randomInt(1e8, 1e9),
              number,
              title: 'Bug: Login fails on mobile',
              state: 'open',
              user: GITHUB_SENDER,
              created_at: at,
              updated_at: at,
            },
            repository: GITHUB_REPOSITORY,
            sender: GITHUB_SENDER,
          });
      }
    },
  },
  slack: {
    events: ['message', 'app_mention', 'reaction_added'],
    build(event, { nowMs }) {
      const ts = `${seconds(nowMs)}.${digits(6)}`;
      const inner =
        event === 'reaction_added'
          ? {
              type: 'reaction_added',
              user: 'U061F7AUR',
              reaction: 'thumbsup',
              item: { type: 'message', channel: 'C0LAN2Q65', ts },
              event_ts: ts,
            }
          : {
              type: event,
              channel: 'C0LAN2Q65',
              user: 'U061F7AUR',
              text: event === 'app_mention' ? '<@U0LAN0Z89> is it everything?' : 'Hello world',
              ts,
              event_ts: ts,
            };
      return json({
        token: 'XXYYZZ',
        team_id: 'T061EG9RZ',
        api_app_id: 'A0FFV41KK',
        event: inner,
        type: 'event_callback',
        event_id: `Ev${hex(5).toUpperCase()}`,
        event_time: seconds(nowMs),
      });
    },
  },
  notion: {
    events: ['page.created', 'page.properties_updated', 'comment.created'],
    build(event, { nowMs, deliveryId }) {
      const entityType = event.split('.')[0]!;
      return json({
        id: deliveryId,
        timestamp: iso(nowMs),
        workspace_id: '13950b26-c203-4f3b-b97d-93ec06319565',
        workspace_name: 'Acme',
        subscription_id: '29d75c0d-5546-4414-8459-7b7a92f1fc4b',
        integration_id: '0ef2a3ec-8c8f-4c3b-8d4f-6d1f2a4e5b6c',
        type: event,
        authors: [{ id: 'c7c11cca-1d73-471d-9b6e-bdef51470190', type: 'person' }],
        entity: { id: randomUUID(), type: entityType },
        data: { parent: { id: '13950b26-c203-4f3b-b97d-93ec06319565', type: 'space' } },
        attempt_number: 1,
      });
    },
  },
  salesforce: {
    events: ['contact.created', 'contact.updated', 'account.created', 'opportunity.updated'],
    build(event) {
      const [object, action] = event.split('.') as [string, string];
      const name = object.charAt(0).toUpperCase() + object.slice(1);
      const prefix = object === 'account' ? '001' : object === 'opportunity' ? '006' : '003';
      const fields: Record<string, string> =
        object === 'contact'
          ? { Id: sfid(prefix), FirstName: 'John', LastName: 'Doe', Email: 'john.doe@example.com' }
          : { Id: sfid(prefix), Name: object === 'account' ? 'Acme Corporation' : 'Acme - 200 licences' };
      return json({ action, sobject: { name, fields } });
    },
  },
  'salesforce-outbound': {
    events: ['contact', 'account'],
    build(event, { salesforceOrganizationId }) {
      const contact = event === 'contact';
      return {
        body: salesforceOutboundMessage({
          organizationId: salesforceOrganizationId ?? '00D000000000000',
          notifications: [
            {
              id: sfid('04l'),
              sObjectType: contact ? 'Contact' : 'Account',
              fields: contact
                ? { Id: sfid('003'), FirstName: 'John', LastName: 'Doe' }
                : { Id: sfid('001'), Name: 'Acme Corporation' },
            },
          ],
        }),
        contentType: 'text/xml; charset=utf-8',
      };
    },
  },
  'salesforce-datacloud': {
    events: ['created', 'updated', 'deleted'],
    build(event, { nowMs, deliveryId }) {
      const prompt = event === 'created' ? 'INSERT' : event === 'deleted' ? 'DELETE' : 'UPDATE';
      const id = sfid('0PK');
      return json({
        creationDateTime: iso(nowMs),
        count: 1,
        schemas: [
          { schemaId: 'High_Value_Customer_Action', schema: { fields: [{ name: 'ssot__Id__c', type: 'string' }] } },
        ],
        events: [
          {
            ActionDeveloperName__c: 'High_Value_Customer_Action',
            EventCreationDateTime__c: iso(nowMs - 2000),
            EventPrompt__c: prompt,
            EventPublishDateTime__c: iso(nowMs - 1000),
            EventSchemaVersion__c: '1.0',
            EventType__c: 'DataObjectDataChgEvent',
            EventUuid__c: deliveryId,
            PayloadCurrentValue__c: JSON.stringify({
              ssot__Id__c: id,
              ssot__FirstName__c: 'John',
              ssot__LastName__c: 'Doe',
            }),
            PayloadPrevValue__c: null,
            ProfileIdValue__c: id,
            SourceObjectDeveloperName__c: 'ssot__Individual__dlm',
          },
        ],
      });
    },
  },
  google: {
    events: ['contacts', 'gmail'],
    build(event, { nowMs }) {
      const data =
        event === 'gmail'
          ? { emailAddress: 'user@example.com', historyId: Number(digits(7)) }
          : { resourceName: `people/c${digits(19)}`, etag: `%${hex(8)}` };
      const messageId = digits(16);
      // Pub/Sub push sends both spellings of the id and of the publish time.
      return json({
        message: {
          data: Buffer.from(JSON.stringify(data)).toString('base64'),
          attributes: {},
          messageId,
          message_id: messageId,
          publishTime: iso(nowMs),
          publish_time: iso(nowMs),
        },
        subscription: 'projects/example-project/subscriptions/webhooks-push',
      });
    },
  },
  // Calendar notifications carry everything in X-Goog-* headers; the body is empty.
  'google-calendar': {
    events: ['exists', 'sync', 'not_exists'],
    build: () => ({ body: '', contentType: 'application/json' }),
  },
  stripe: {
    events: ['customer.created', 'invoice.paid', 'payment_intent.succeeded', 'checkout.session.completed'],
    build(event, { nowMs }) {
      const created = seconds(nowMs);
      const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
      const objects: Record<string, Record<string, unknown>> = {
        'customer.created': { id: id('cus'), object: 'customer', email: 'jenny.rosen@example.com', created },
        'invoice.paid': {
          id: id('in'),
          object: 'invoice',
          amount_paid: 2000,
          currency: 'usd',
          status: 'paid',
          created,
        },
        'payment_intent.succeeded': {
          id: id('pi'),
          object: 'payment_intent',
          amount: 2000,
          currency: 'usd',
          status: 'succeeded',
          created,
        },
        'checkout.session.completed': {
          id: id('cs_test'),
          object: 'checkout.session',
          mode: 'payment',
          status: 'complete',
          created,
        },
      };
      return json({
        id: id('evt'),
        object: 'event',
        api_version: '2025-09-30.clover',
        created,
        data: { object: objects[event] ?? objects['customer.created'] },
        livemode: false,
        pending_webhooks: 1,
        request: { id: id('req'), idempotency_key: randomUUID() },
        type: event,
      });
    },
  },
  'standard-webhooks': {
    events: ['user.created', 'invoice.paid', 'subscription.updated'],
    build: (event, { nowMs }) => json({ type: event, timestamp: iso(nowMs), data: { id: randomUUID() } }),
  },
  svix: {
    events: ['user.created', 'invoice.paid', 'subscription.updated'],
    build: (event, { nowMs }) =>
      json({ type: event, timestamp: iso(nowMs), data: { id: `${event.split('.')[0]}_${hex(12)}` } }),
  },
  shopify: {
    events: ['products/create', 'orders/create', 'customers/update'],
    build(event, { nowMs }) {
      const resource = event.split('/')[0]!;
      const kind = resource === 'orders' ? 'Order' : resource === 'customers' ? 'Customer' : 'Product';
      const id = randomInt(1e9, 2 ** 47);
      const at = iso(nowMs);
      const fields =
        kind === 'Order'
          ? { email: 'jon@example.com', total_price: '199.00', currency: 'USD', financial_status: 'paid' }
          : kind === 'Customer'
            ? { email: 'jon@example.com', first_name: 'Jon', last_name: 'Snow' }
            : { title: 'Example T-Shirt', product_type: 'Shirts', vendor: 'Acme', status: 'active' };
      return json({
        id,
        admin_graphql_api_id: `gid://shopify/${kind}/${id}`,
        ...fields,
        created_at: at,
        updated_at: at,
      });
    },
  },
  twilio: {
    events: ['message.delivered', 'message.received', 'call.completed'],
    build(event, { nowMs }) {
      const account = `AC${hex(16)}`;
      const params: Record<string, string> =
        event === 'call.completed'
          ? {
              CallSid: `CA${hex(16)}`,
              CallStatus: 'completed',
              CallDuration: '42',
              From: '+15017122661',
              To: '+15558675310',
              Direction: 'outbound-api',
            }
          : event === 'message.received'
            ? {
                MessageSid: `SM${hex(16)}`,
                SmsSid: '',
                Body: 'Hello',
                NumMedia: '0',
                From: '+15017122661',
                To: '+15558675310',
              }
            : {
                MessageSid: `SM${hex(16)}`,
                MessageStatus: 'delivered',
                SmsStatus: 'delivered',
                From: '+15017122661',
                To: '+15558675310',
              };
      if (params.SmsSid === '') params.SmsSid = params.MessageSid!;
      const body = new URLSearchParams({
        AccountSid: account,
        ApiVersion: '2010-04-01',
        ...params,
        Timestamp: String(seconds(nowMs)),
      });
      return { body: body.toString(), contentType: 'application/x-www-form-urlencoded' };
    },
  },
  hubspot: {
    events: ['contact.creation', 'contact.propertyChange', 'deal.creation'],
    build(event, { nowMs }) {
      const item: Record<string, unknown> = {
        eventId: randomInt(1, 2 ** 31),
        subscriptionId: 2881778,
        portalId: 62515,
        appId: 1160452,
        occurredAt: nowMs,
        subscriptionType: event,
        attemptNumber: 0,
        objectId: randomInt(1, 2 ** 31),
        changeSource: 'CRM',
      };
      if (event.endsWith('propertyChange'))
        Object.assign(item, { propertyName: 'email', propertyValue: 'sample@example.com' });
      return json([item]);
    },
  },
  linear: {
    events: ['Issue.create', 'Issue.update', 'Comment.create'],
    build(event, { nowMs }) {
      const [type, action] = event.split('.') as [string, string];
      const at = iso(nowMs);
      const data =
        type === 'Comment'
          ? { id: randomUUID(), body: 'Looks good to me', issueId: randomUUID(), createdAt: at, updatedAt: at }
          : {
              id: randomUUID(),
              identifier: `ENG-${randomInt(1, 5000)}`,
              title: 'Login fails on mobile',
              priority: 2,
              createdAt: at,
              updatedAt: at,
            };
      return json({
        action,
        actor: { id: randomUUID(), type: 'user', name: 'Jane Smith' },
        createdAt: at,
        data,
        type,
        organizationId: 'c1b2fe8a-0b0e-4d4a-9c8d-9f4c1f3d0a11',
        // Linear's freshness check reads this (ms), so it must be the signing time.
        webhookTimestamp: nowMs,
        webhookId: '000042e3-d123-4980-b49f-8e140eef9329',
      });
    },
  },
  zoom: {
    events: ['meeting.started', 'meeting.ended', 'recording.completed'],
    build(event, { nowMs }) {
      const meeting = {
        id: digits(11),
        uuid: `${randomBytes(16).toString('base64')}`,
        host_id: 'z8yCxjabcdEFGHfp8uQ',
        topic: 'Weekly sync',
        type: 2,
      };
      const object =
        event === 'recording.completed'
          ? {
              ...meeting,
              recording_count: 1,
              recording_files: [{ id: randomUUID(), file_type: 'MP4', status: 'completed' }],
            }
          : {
              ...meeting,
              start_time: iso(nowMs - 60_000),
              ...(event === 'meeting.ended' ? { end_time: iso(nowMs) } : {}),
            };
      return json({ event, event_ts: nowMs, payload: { account_id: 'AAAAAABBBB', object } });
    },
  },
  msgraph: {
    events: ['created', 'updated', 'deleted'],
    // Graph's proof is the clientState inside every notification, so the secret goes in the body.
    build(event, { secret }) {
      const userId = randomUUID();
      const messageId = `AAMkAG${randomBytes(18).toString('base64url')}`;
      const body = signMsGraph({
        secret,
        notifications: [
          {
            subscriptionId: randomUUID(),
            subscriptionExpirationDateTime: new Date(Date.now() + 3 * 24 * 3600_000).toISOString(),
            changeType: event,
            resource: `Users/${userId}/Messages/${messageId}`,
            resourceData: {
              '@odata.type': '#Microsoft.Graph.Message',
              '@odata.id': `Users/${userId}/Messages/${messageId}`,
              id: messageId,
            },
            tenantId: randomUUID(),
          },
        ],
      });
      return { body, contentType: 'application/json' };
    },
  },
};

/** The provider ids the CLI can sign for, in PROVIDERS.md order. */
export const SAMPLE_PROVIDERS: readonly string[] = Object.freeze(Object.keys(SAMPLES));

/** The event types `--event` accepts for a provider, the default first; [] for an unknown provider. */
export function sampleEvents(provider: string): readonly string[] {
  return Object.hasOwn(SAMPLES, provider) ? SAMPLES[provider]!.events : [];
}

/** A realistic payload of this provider and event, with fresh ids and times. */
export function buildSample(provider: string, event: string, context: SampleContext): Sample {
  const samples = Object.hasOwn(SAMPLES, provider) ? SAMPLES[provider] : undefined;
  if (!samples) throw new RangeError(`No sample for provider ${provider}`);
  return samples.build(event, context);
}
