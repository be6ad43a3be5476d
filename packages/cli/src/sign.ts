import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import {
  googleHeaders,
  signGitHub,
  signGoogleCalendar,
  signGooglePushToken,
  signHubSpotV3,
  signLinear,
  signNotion,
  signSalesforce,
  signSalesforceDataCloud,
  signShopify,
  signSlack,
  signStandardWebhooks,
  signStripe,
  signSvix,
  signTwilio,
  signZoom,
  twilioJsonUrl,
} from '@webhooks/verifiers';
import { buildSample, SAMPLE_PROVIDERS, sampleEvents } from './samples.js';

/** A problem with what the user asked for (exit code 2), with a message that says how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface GoogleSigningKey {
  /** The RSA private key (a PEM string or a KeyObject) whose public half the registration trusts. */
  privateKey: string | KeyObject;
  kid: string;
  /** The push subscription's service account: the token's `email` claim. */
  serviceAccountEmail: string;
  /** The token's audience; defaults to the signing URL, as the receiver does. */
  audience?: string;
}

export interface SignDeliveryOptions {
  provider: string;
  /** The secret the registration verifies with (unused by salesforce-outbound and google). */
  secret?: string;
  /** Where the delivery goes: the registration's webhookUrl. Required for twilio, hubspot and google. */
  url?: string;
  /** The URL the receiver sees, when it differs from `url` (a proxy, a tunnel); defaults to `url`. */
  signingUrl?: string;
  /** One of `sampleEvents(provider)`; the first by default. */
  event?: string;
  /** The exact bytes to send instead of a sample. */
  body?: string | Uint8Array;
  /** Defaults to Date.now(). */
  nowMs?: number;
  salesforceOrganizationId?: string;
  google?: GoogleSigningKey;
  /** Flips one byte of the body after signing: what a tampered delivery looks like to the receiver. */
  tamper?: boolean;
}

export interface SignedDelivery {
  provider: string;
  event: string;
  method: 'POST';
  /** Where to send it (twilio JSON bodies add `bodySHA256` to the query). */
  url: string | undefined;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The providers `signDelivery` knows. */
export const SIGNABLE_PROVIDERS = SAMPLE_PROVIDERS;

const SECRETLESS = new Set(['salesforce-outbound', 'google']);
/** Providers whose proof does not cover the body bytes: flipping one would prove nothing. */
const PROOF_OUTSIDE_BODY = new Set(['google', 'google-calendar', 'msgraph', 'salesforce-outbound']);

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined || value === '') throw new UsageError(message);
  return value;
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body;
}

function looksLikeJson(body: Uint8Array): boolean {
  const first = Buffer.from(body.subarray(0, 64)).toString('utf8').trimStart()[0];
  return first === '{' || first === '[';
}

/**
 * Signs a delivery exactly as the provider would: a realistic sample (or the given body) with a
 * fresh delivery id and timestamp, and every header the provider sends.
 */
export async function signDelivery(options: SignDeliveryOptions): Promise<SignedDelivery> {
  const { provider } = options;
  if (!SAMPLE_PROVIDERS.includes(provider)) {
    throw new UsageError(`Unknown provider '${provider}'. Known: ${SAMPLE_PROVIDERS.join(', ')}`);
  }
  const events = sampleEvents(provider);
  const event = options.event ?? events[0]!;
  if (options.body === undefined && !events.includes(event)) {
    throw new UsageError(`Unknown event '${event}' for ${provider}. Known: ${events.join(', ')}`);
  }
  const secret = SECRETLESS.has(provider)
    ? (options.secret ?? '')
    : required(options.secret, `${provider} needs --secret (the secret the registration verifies with)`);
  const nowMs = options.nowMs ?? Date.now();
  const deliveryId = randomUUID();
  const orgId = options.salesforceOrganizationId;
  if (provider === 'salesforce-outbound') {
    required(orgId, 'salesforce-outbound needs --org-id (the organization id the registration was given)');
  }

  const sample = buildSample(provider, event, {
    nowMs,
    deliveryId,
    secret,
    ...(orgId !== undefined ? { salesforceOrganizationId: orgId } : {}),
  });
  const body = options.body === undefined ? bytes(sample.body) : bytes(options.body);
  const contentType =
    options.body === undefined ? sample.contentType : looksLikeJson(body) ? 'application/json' : sample.contentType;
  let url = options.url;
  let signingUrl = options.signingUrl ?? options.url;
  const seconds = Math.floor(nowMs / 1000);
  let headers: Record<string, string>;

  switch (provider) {
    case 'github':
      headers = {
        'user-agent': 'GitHub-Hookshot/8e3f1a2',
        ...signGitHub({ body, secret, deliveryId, event }),
        'x-github-hook-id': '292430182',
        'x-github-hook-installation-target-type': 'repository',
      };
      break;
    case 'slack':
      headers = {
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...signSlack({ body, secret, timestamp: seconds }),
      };
      break;
    case 'notion':
      headers = { 'user-agent': 'notion-api', ...signNotion({ body, secret }) };
      break;
    case 'salesforce':
      headers = signSalesforce({ body, secret });
      break;
    case 'salesforce-outbound':
      headers = { soapaction: '""', 'user-agent': 'Jakarta Commons-HttpClient/3.1' };
      break;
    case 'salesforce-datacloud':
      headers = signSalesforceDataCloud({ body, secret });
      break;
    case 'google': {
      const google = options.google;
      if (!google) {
        throw new UsageError(
          'google needs --private-key <pem file> --kid <key id> --service-account <email>: Pub/Sub push is signed by ' +
            "Google's own key, so register with providerOptions.google.jwks holding your key's public half",
        );
      }
      const audience = required(
        google.audience ?? signingUrl,
        'google needs --url (or --audience) for the token audience',
      );
      const privateKey =
        typeof google.privateKey === 'string' ? createPrivateKey(google.privateKey) : google.privateKey;
      const token = await signGooglePushToken({
        privateKey,
        kid: google.kid,
        audience,
        email: google.serviceAccountEmail,
        nowMs,
      });
      headers = {
        'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
        ...googleHeaders(token),
      };
      break;
    }
    case 'google-calendar':
      headers = signGoogleCalendar({
        secret,
        channelId: deliveryId,
        resourceState: event,
        messageNumber: event === 'sync' ? 1 : Math.max(2, seconds % 1_000_000),
        channelExpiration: new Date(nowMs + 7 * 24 * 3600_000).toUTCString(),
      });
      break;
    case 'stripe':
      headers = {
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        ...signStripe({ body, secret, timestamp: seconds }),
      };
      break;
    case 'standard-webhooks':
      headers = signStandardWebhooks({ body, secret, id: `msg_${deliveryId.replaceAll('-', '')}`, timestamp: seconds });
      break;
    case 'svix':
      headers = signSvix({ body, secret, id: `msg_${deliveryId.replaceAll('-', '')}`, timestamp: seconds });
      break;
    case 'shopify':
      headers = {
        ...signShopify({ body, secret, webhookId: deliveryId, topic: event, shopDomain: 'example.myshopify.com' }),
        'x-shopify-api-version': '2025-10',
        'x-shopify-triggered-at': new Date(nowMs).toISOString(),
        'x-shopify-event-id': randomUUID(),
      };
      break;
    case 'twilio': {
      const base = required(signingUrl, 'twilio needs --url: its signature covers the full URL');
      // Twilio binds a JSON body through bodySHA256 in the URL; a form body is signed parameter by parameter.
      const json = looksLikeJson(body);
      signingUrl = json ? twilioJsonUrl(base, body) : base;
      if (json && url !== undefined) url = twilioJsonUrl(url, body);
      headers = {
        'user-agent': 'TwilioProxy/1.1',
        ...signTwilio({ url: signingUrl, body, secret }),
        'i-twilio-idempotency-token': deliveryId,
      };
      break;
    }
    case 'hubspot': {
      const target = required(signingUrl, 'hubspot needs --url: its v3 signature covers the method and URL');
      headers = signHubSpotV3({ url: target, method: 'POST', body, secret, timestamp: nowMs });
      break;
    }
    case 'linear':
      headers = { ...signLinear({ body, secret, deliveryId }), 'linear-event': event.split('.')[0]! };
      break;
    case 'zoom':
      headers = { 'user-agent': 'Zoom Marketplace/1.0a', ...signZoom({ body, secret, timestamp: seconds }) };
      break;
    case 'msgraph':
      // The proof (clientState) is already in the body the sample built.
      headers = {};
      break;
    default:
      throw new UsageError(`Unknown provider '${provider}'`);
  }

  let sent = body;
  if (options.tamper) {
    if (PROOF_OUTSIDE_BODY.has(provider) || body.length === 0) {
      throw new UsageError(
        `${provider}'s proof does not cover the body; send with a wrong --secret to see a rejection`,
      );
    }
    sent = Uint8Array.from(body);
    const index = Math.floor(sent.length / 2);
    sent[index] = sent[index]! ^ 0x01;
  }
  return {
    provider,
    event,
    method: 'POST',
    url,
    headers: { 'content-type': contentType, ...headers },
    body: sent,
  };
}
