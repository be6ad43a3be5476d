import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { exchange, type HttpAnswer, UnreachableError } from './http.js';
import { SAMPLE_PROVIDERS, sampleEvents } from './samples.js';
import { type GoogleSigningKey, type SignedDelivery, signDelivery, UsageError } from './sign.js';

/** Exit codes scripts can rely on. */
export const EXIT = Object.freeze({
  ok: 0,
  /** The server answered 4xx or 5xx. */
  refused: 1,
  /** The command line is wrong; nothing was sent. */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
});

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface RunIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Read for `--body -`; defaults to process.stdin. */
  stdin?: AsyncIterable<string | Uint8Array>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Aborting it stops `tail` (the bin aborts on SIGINT). */
  signal?: AbortSignal;
  version?: string;
}

type OptionType = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

interface Command {
  summary: string;
  usage: string;
  options: Record<string, OptionType & { help: string }>;
  /** How many positionals: [min, max]. */
  positionals: [number, number];
  run(context: Context): Promise<number>;
}

interface Context {
  io: RunIo;
  env: Record<string, string | undefined>;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  colour: Colour;
  fetch: typeof fetch;
}

type Colour = (code: 'red' | 'green' | 'yellow' | 'dim' | 'bold', text: string) => string;

const DEFAULT_API = 'http://localhost:3000';

const COMMON: Record<string, OptionType & { help: string }> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  json: { type: 'boolean', help: 'print the raw JSON answer' },
  'no-color': { type: 'boolean', help: 'no colours even on a terminal (also NO_COLOR=1)' },
};

const ADMIN: Record<string, OptionType & { help: string }> = {
  api: { type: 'string', help: `admin API base URL (WEBHOOKS_API_URL, default ${DEFAULT_API})` },
  token: { type: 'string', help: 'bearer token (WEBHOOKS_TOKEN); never printed' },
};

const SIGNING: Record<string, OptionType & { help: string }> = {
  url: { type: 'string', help: "where the delivery goes: the registration's webhookUrl" },
  secret: { type: 'string', help: 'the secret the registration verifies with (WEBHOOKS_SECRET)' },
  event: { type: 'string', help: 'which sample event (see `webhooks providers`)' },
  body: { type: 'string', help: 'send this file (or - for stdin) byte for byte instead of a sample' },
  'signing-url': { type: 'string', help: 'the URL the receiver sees, when not --url (twilio, hubspot, google)' },
  'org-id': { type: 'string', help: 'salesforce-outbound: the organization id the registration expects' },
  'private-key': { type: 'string', help: 'google: PEM file of the RSA key the registration trusts (its jwks)' },
  kid: { type: 'string', help: 'google: the key id in the registration jwks' },
  'service-account': { type: 'string', help: "google: the push subscription's service account email" },
  audience: { type: 'string', help: 'google: the token audience (default: the signing URL)' },
  tamper: { type: 'boolean', help: 'flip one body byte after signing, to see a rejection' },
};

const COMMANDS: Record<string, Command> = {
  send: {
    summary: 'sign a realistic delivery as the provider would and send it',
    usage: 'webhooks send <provider> --url <webhookUrl> --secret <secret> [--event <type>] [--body <file|->]',
    options: {
      ...SIGNING,
      header: { type: 'string', multiple: true, help: 'extra header "name: value" (repeatable)' },
    },
    positionals: [1, 1],
    run: send,
  },
  sign: {
    summary: 'print the headers the provider would send (nothing is sent)',
    usage:
      'webhooks sign <provider> --secret <secret> [--url <webhookUrl>] [--event <type>] [--body <file|->] [--body-out <file>]',
    options: { ...SIGNING, 'body-out': { type: 'string', help: 'write the exact signed body to this file' } },
    positionals: [1, 1],
    run: sign,
  },
  register: {
    summary: 'register a webhook (prints its URL, and its secret once)',
    usage: 'webhooks register <provider> --connection <id> [--events <a,b>] [--secret <provider-issued secret>]',
    options: {
      ...ADMIN,
      connection: { type: 'string', help: 'the connection id (required)' },
      events: { type: 'string', help: 'comma-separated event patterns (default *)' },
      secret: { type: 'string', help: 'a provider-issued secret (Slack, Stripe, Shopify, ...)' },
      'org-id': { type: 'string', help: 'salesforce-outbound: the organization id' },
      'service-account': { type: 'string', help: "google: the push subscription's service account email" },
      audience: { type: 'string', help: 'google: the token audience (default: the webhook URL)' },
      jwks: { type: 'string', help: "google: a JSON file of signing keys, instead of Google's certs URL" },
      'provider-options': { type: 'string', help: 'providerOptions as JSON' },
      metadata: { type: 'string', help: 'metadata as JSON' },
    },
    positionals: [1, 1],
    run: register,
  },
  list: {
    summary: 'list registrations',
    usage: 'webhooks list [--integration <provider>] [--connection <id>]',
    options: {
      ...ADMIN,
      integration: { type: 'string', help: 'only this provider' },
      connection: { type: 'string', help: 'only this connection' },
    },
    positionals: [0, 0],
    run: list,
  },
  get: {
    summary: 'show a registration (never its secret)',
    usage: 'webhooks get <registrationId>',
    options: { ...ADMIN },
    positionals: [1, 1],
    run: get,
  },
  health: {
    summary: "a registration's health, or the service's without an id",
    usage: 'webhooks health [<registrationId>]',
    options: { ...ADMIN },
    positionals: [0, 1],
    run: health,
  },
  rotate: {
    summary: "rotate a registration's secret (the old one keeps working for a grace period)",
    usage: 'webhooks rotate <registrationId> [--secret <provider-issued secret>]',
    options: { ...ADMIN, secret: { type: 'string', help: 'install this provider-issued secret instead' } },
    positionals: [1, 1],
    run: rotate,
  },
  delete: {
    summary: 'delete a registration',
    usage: 'webhooks delete <registrationId>',
    options: { ...ADMIN },
    positionals: [1, 1],
    run: remove,
  },
  tail: {
    summary: 'follow the deliveries of a registration (Ctrl-C stops)',
    usage: 'webhooks tail <registrationId> [--interval <ms>] [--limit <n>] [--once]',
    options: {
      ...ADMIN,
      interval: { type: 'string', help: 'poll every so many ms (default 2000)' },
      limit: { type: 'string', help: 'how many recent deliveries to show first (default 20)' },
      once: { type: 'boolean', help: 'print the recent deliveries and stop' },
    },
    positionals: [1, 1],
    run: tail,
  },
  providers: {
    summary: 'list the providers and sample events the CLI can sign',
    usage: 'webhooks providers',
    options: {},
    positionals: [0, 0],
    run: providers,
  },
};

/**
 * Runs one `webhooks` command line and resolves to its exit code. Never throws and never calls
 * process.exit, so tests and scripts can drive it in-process.
 */
export async function run(argv: readonly string[], io: RunIo): Promise<number> {
  const env = io.env ?? process.env;
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && Object.hasOwn(COMMANDS, topic)) {
      io.stdout.write(commandHelp(topic, COMMANDS[topic]!));
      return EXIT.ok;
    }
    (name === undefined ? io.stderr : io.stdout).write(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${io.version ?? 'unknown'}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`webhooks: unknown command '${name}'. Run \`webhooks --help\`.\n`);
    return EXIT.usage;
  }

  let parsed: { values: Context['values']; positionals: string[] };
  try {
    const options = Object.fromEntries(
      Object.entries({ ...COMMON, ...command.options }).map(([key, { help: _help, ...option }]) => [key, option]),
    );
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    io.stderr.write(`webhooks ${name}: ${firstLine(error)}\nRun \`webhooks ${name} --help\`.\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.stdout.write(commandHelp(name, command));
    return EXIT.ok;
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    io.stderr.write(`webhooks ${name}: expected ${command.usage.replace(/^webhooks /, '')}\n`);
    return EXIT.usage;
  }

  const colourOn = io.stdout.isTTY === true && !parsed.values['no-color'] && !env.NO_COLOR;
  const context: Context = {
    io,
    env,
    values: parsed.values,
    positionals: parsed.positionals,
    json: parsed.values.json === true,
    colour: colourOn ? paint : (_code, text) => text,
    fetch: io.fetch ?? fetch,
  };
  try {
    return await command.run(context);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`webhooks ${name}: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof UnreachableError) {
      io.stderr.write(`webhooks ${name}: ${error.message}\n`);
      return EXIT.unreachable;
    }
    // An unexpected failure: one line, no stack, and it is still a failure scripts can see.
    io.stderr.write(`webhooks ${name}: ${firstLine(error)}\n`);
    return EXIT.refused;
  }
}

// ------------------------------------------------------------------ help

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'webhooks: send signed sample webhooks and manage registrations',
    '',
    'Usage: webhooks <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --help and --json. Admin commands read --api / WEBHOOKS_API_URL',
    `(default ${DEFAULT_API}) and --token / WEBHOOKS_TOKEN.`,
    'Exit codes: 0 ok, 1 the server refused (4xx/5xx), 2 usage error, 3 cannot reach the server.',
    '',
  ].join('\n');
}

function commandHelp(name: string, command: Command): string {
  const options = { ...command.options, ...COMMON };
  const flags = Object.entries(options).map(([key, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${key}${option.type === 'string' ? ' <value>' : ''}`;
    return [flag, option.help] as const;
  });
  const width = Math.max(...flags.map(([flag]) => flag.length));
  const lines = [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Options:'];
  for (const [flag, help] of flags) lines.push(`  ${flag.padEnd(width)}  ${help}`);
  if (name === 'send' || name === 'sign') {
    lines.push(
      '',
      `Providers: ${SAMPLE_PROVIDERS.join(', ')}`,
      'Each delivery gets a fresh delivery id and timestamp. twilio and hubspot sign the URL too (give --url,',
      'or --signing-url when the receiver sees another one); salesforce-outbound needs --org-id; google needs',
      '--private-key, --kid and --service-account, because Pub/Sub push is signed with a key only Google holds:',
      "register with providerOptions.google.jwks holding your key's public half to test it end to end.",
    );
  }
  if (name === 'send')
    lines.push('', 'Exit codes: 0 accepted (2xx), 1 refused (4xx/5xx), 2 usage error, 3 unreachable.');
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ commands

async function send(context: Context): Promise<number> {
  const delivery = await signed(context);
  if (delivery.url === undefined) throw new UsageError("send needs --url (the registration's webhookUrl)");
  const extra = headerOptions(context.values.header);
  const answer = await exchange(context.fetch, {
    method: delivery.method,
    url: delivery.url,
    headers: { ...delivery.headers, ...extra },
    body: delivery.body,
  });
  const ok = answer.status >= 200 && answer.status < 300;
  if (context.json) {
    printJson(context, answer.json !== undefined ? answer.json : { status: answer.status, body: answer.text });
  } else {
    const { colour } = context;
    const status = `${answer.status} ${answer.statusText}`.trim();
    context.io.stdout.write(
      `${colour('dim', `${delivery.provider} ${delivery.event} -> POST ${delivery.url}`)}\n` +
        `${colour(ok ? 'green' : 'red', status)}${describeAnswer(answer)}\n`,
    );
  }
  return ok ? EXIT.ok : EXIT.refused;
}

async function sign(context: Context): Promise<number> {
  const delivery = await signed(context);
  const bodyOut = stringValue(context, 'body-out');
  if (bodyOut !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(bodyOut, delivery.body);
  }
  if (context.json) {
    const text = Buffer.from(delivery.body);
    const utf8 = text.toString('utf8');
    const isText = Buffer.from(utf8, 'utf8').equals(text);
    printJson(context, {
      provider: delivery.provider,
      event: delivery.event,
      method: delivery.method,
      url: delivery.url ?? null,
      headers: delivery.headers,
      body: isText ? utf8 : text.toString('base64'),
      bodyEncoding: isText ? 'utf8' : 'base64',
    });
  } else {
    for (const [key, value] of Object.entries(delivery.headers)) context.io.stdout.write(`${key}: ${value}\n`);
  }
  return EXIT.ok;
}

async function register(context: Context): Promise<number> {
  const provider = context.positionals[0]!;
  const connectionId = stringValue(context, 'connection');
  if (connectionId === undefined) throw new UsageError('register needs --connection <id>');
  const events = (stringValue(context, 'events') ?? '*')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const providerOptions = jsonOption(context, 'provider-options') ?? {};
  const orgId = stringValue(context, 'org-id');
  if (orgId !== undefined) providerOptions.salesforceOrganizationId = orgId;
  const serviceAccount = stringValue(context, 'service-account');
  const audience = stringValue(context, 'audience');
  const jwksFile = stringValue(context, 'jwks');
  if (serviceAccount !== undefined || audience !== undefined || jwksFile !== undefined) {
    const google = { ...(providerOptions.google as Record<string, unknown> | undefined) };
    if (serviceAccount !== undefined) google.serviceAccountEmail = serviceAccount;
    if (audience !== undefined) google.audience = audience;
    if (jwksFile !== undefined) google.jwks = parseJsonText(await readText(jwksFile), '--jwks');
    providerOptions.google = google;
  }
  const metadata = jsonOption(context, 'metadata');
  const secret = stringValue(context, 'secret');
  const body = {
    connectionId,
    events,
    ...(secret !== undefined ? { webhookSecret: secret } : {}),
    ...(Object.keys(providerOptions).length > 0 ? { providerOptions } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
  const answer = await admin(context, 'POST', `/integrations/${encodeURIComponent(provider)}/webhooks`, body);
  return report(context, answer, (result) => {
    const { colour } = context;
    const lines = [
      `${colour('green', 'Registered')} ${result.registrationId} (${provider}) ${colour('dim', String(result.status))}`,
      `  webhook URL  ${result.webhookUrl}`,
    ];
    // The API shows the secret only now (and at rotation): it is printed because it was returned.
    if (typeof result.webhookSecret === 'string') {
      lines.push(`  secret       ${result.webhookSecret}  ${colour('yellow', '(shown once: store it now)')}`);
    }
    if (Array.isArray(result.setup)) {
      lines.push('Setup:', ...result.setup.map((step) => `  - ${String(step)}`));
    }
    return lines;
  });
}

async function list(context: Context): Promise<number> {
  const query = new URLSearchParams();
  const integration = stringValue(context, 'integration');
  const connection = stringValue(context, 'connection');
  if (integration !== undefined) query.set('integrationId', integration);
  if (connection !== undefined) query.set('connectionId', connection);
  const suffix = query.size > 0 ? `?${query}` : '';
  const answer = await admin(context, 'GET', `/webhooks${suffix}`);
  return report(context, answer, (result) => {
    const webhooks = Array.isArray(result.webhooks) ? (result.webhooks as Array<Record<string, unknown>>) : [];
    if (webhooks.length === 0) return ['No registrations.'];
    const rows = webhooks.map((w) => [
      String(w.id),
      String(w.integrationId),
      String(w.connectionId),
      String(w.status),
      Array.isArray(w.events) ? w.events.join(',') : '',
    ]);
    return table(['ID', 'PROVIDER', 'CONNECTION', 'STATUS', 'EVENTS'], rows);
  });
}

async function get(context: Context): Promise<number> {
  const answer = await admin(context, 'GET', `/webhooks/${encodeURIComponent(context.positionals[0]!)}`);
  return report(context, answer, (result) => keyValues(result));
}

async function health(context: Context): Promise<number> {
  const id = context.positionals[0];
  if (id === undefined) {
    // The service's health needs no token.
    const answer = await admin(context, 'GET', '/webhooks/health', undefined, { auth: false });
    return report(context, answer, (result) => keyValues(result));
  }
  const answer = await admin(context, 'GET', `/webhooks/${encodeURIComponent(id)}/health`);
  return report(context, answer, (result) => {
    const { recommendations, ...rest } = result;
    const lines = keyValues(rest);
    if (Array.isArray(recommendations) && recommendations.length > 0) {
      lines.push('recommendations:', ...recommendations.map((r) => `  - ${String(r)}`));
    }
    return lines;
  });
}

async function rotate(context: Context): Promise<number> {
  const secret = stringValue(context, 'secret');
  const answer = await admin(
    context,
    'POST',
    `/webhooks/${encodeURIComponent(context.positionals[0]!)}/rotate-secret`,
    secret !== undefined ? { webhookSecret: secret } : {},
  );
  return report(context, answer, (result) => [
    `${context.colour('green', 'Rotated')} ${context.positionals[0]}`,
    `  new secret                 ${String(result.webhookSecret)}  ${context.colour('yellow', '(shown once: store it now)')}`,
    `  previous secret valid until ${String(result.previousSecretExpiresAt)}`,
  ]);
}

async function remove(context: Context): Promise<number> {
  const id = context.positionals[0]!;
  const answer = await admin(context, 'DELETE', `/webhooks/${encodeURIComponent(id)}`);
  if (answer.status === 204 && context.json) {
    printJson(context, { deleted: true, registrationId: id });
    return EXIT.ok;
  }
  return report(context, answer, () => [`${context.colour('green', 'Deleted')} ${id}`]);
}

async function tail(context: Context): Promise<number> {
  const id = context.positionals[0]!;
  const interval = positiveInt(stringValue(context, 'interval'), 2000, '--interval');
  const limit = positiveInt(stringValue(context, 'limit'), 20, '--limit');
  const signal = context.io.signal;
  const seen = new Set<string>();
  let first = true;
  while (!signal?.aborted) {
    // The first poll shows the recent history; later ones ask for enough to cover a burst.
    const answer = await admin(
      context,
      'GET',
      `/webhooks/${encodeURIComponent(id)}/deliveries?limit=${first ? limit : Math.max(limit, 100)}`,
    );
    if (answer.status < 200 || answer.status >= 300) return report(context, answer, () => []);
    const deliveries = (answer.json as { deliveries?: Array<Record<string, unknown>> } | undefined)?.deliveries ?? [];
    const fresh = deliveries.filter((d) => typeof d.id === 'string' && !seen.has(d.id));
    fresh.sort((a, b) => String(a.receivedAt).localeCompare(String(b.receivedAt)));
    for (const delivery of fresh) {
      seen.add(String(delivery.id));
      if (context.json) context.io.stdout.write(`${JSON.stringify(delivery)}\n`);
      else context.io.stdout.write(`${deliveryLine(context, delivery)}\n`);
    }
    if (first && fresh.length === 0 && !context.json) {
      context.io.stdout.write(
        context.colour(
          'dim',
          context.values.once ? 'No deliveries yet.\n' : 'Waiting for deliveries (Ctrl-C stops)...\n',
        ),
      );
    }
    first = false;
    if (context.values.once) break;
    await sleep(interval, signal);
  }
  return EXIT.ok;
}

async function providers(context: Context): Promise<number> {
  const all = SAMPLE_PROVIDERS.map((id) => ({ id, events: [...sampleEvents(id)] }));
  if (context.json) printJson(context, { providers: all });
  else {
    const width = Math.max(...all.map((p) => p.id.length));
    for (const p of all) context.io.stdout.write(`${p.id.padEnd(width)}  ${p.events.join(', ')}\n`);
  }
  return EXIT.ok;
}

// ------------------------------------------------------------------ helpers

async function signed(context: Context): Promise<SignedDelivery> {
  const provider = context.positionals[0]!;
  const bodyOption = stringValue(context, 'body');
  const body = bodyOption === undefined ? undefined : await readBody(context, bodyOption);
  const secret = stringValue(context, 'secret') ?? context.env.WEBHOOKS_SECRET;
  const url = stringValue(context, 'url');
  if (url !== undefined) checkUrl(url, '--url');
  const signingUrl = stringValue(context, 'signing-url');
  if (signingUrl !== undefined) checkUrl(signingUrl, '--signing-url');
  const event = stringValue(context, 'event');
  const orgId = stringValue(context, 'org-id');
  return signDelivery({
    provider,
    ...(secret !== undefined ? { secret } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(signingUrl !== undefined ? { signingUrl } : {}),
    ...(event !== undefined ? { event } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(orgId !== undefined ? { salesforceOrganizationId: orgId } : {}),
    ...(provider === 'google' ? await googleKey(context) : {}),
    tamper: context.values.tamper === true,
  });
}

async function googleKey(context: Context): Promise<{ google?: GoogleSigningKey }> {
  const keyFile = stringValue(context, 'private-key');
  const kid = stringValue(context, 'kid');
  const serviceAccountEmail = stringValue(context, 'service-account');
  if (keyFile === undefined && kid === undefined && serviceAccountEmail === undefined) return {};
  if (keyFile === undefined || kid === undefined || serviceAccountEmail === undefined) {
    throw new UsageError('google needs all of --private-key <pem file>, --kid <key id> and --service-account <email>');
  }
  const audience = stringValue(context, 'audience');
  return {
    google: {
      privateKey: await readText(keyFile),
      kid,
      serviceAccountEmail,
      ...(audience !== undefined ? { audience } : {}),
    },
  };
}

async function readBody(context: Context, source: string): Promise<Uint8Array> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of context.io.stdin ?? process.stdin) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(await readFile(source));
  } catch (error) {
    throw new UsageError(`Cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? firstLine(error)}`);
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? firstLine(error)}`);
  }
}

function apiBase(context: Context): string {
  const api = stringValue(context, 'api') ?? context.env.WEBHOOKS_API_URL ?? DEFAULT_API;
  checkUrl(api, '--api');
  return api.replace(/\/+$/, '');
}

async function admin(
  context: Context,
  method: string,
  path: string,
  body?: unknown,
  options: { auth?: boolean } = {},
): Promise<HttpAnswer> {
  const base = apiBase(context);
  const token = stringValue(context, 'token') ?? context.env.WEBHOOKS_TOKEN;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
  else if (options.auth !== false) throw new UsageError('No API token: pass --token or set WEBHOOKS_TOKEN');
  if (body !== undefined) headers['content-type'] = 'application/json';
  return exchange(context.fetch, {
    method,
    url: `${base}${path}`,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** Prints a JSON answer (raw with --json, else through `human`) and maps its status to an exit code. */
function report(context: Context, answer: HttpAnswer, human: (result: Record<string, unknown>) => string[]): number {
  const ok = answer.status >= 200 && answer.status < 300;
  if (context.json) {
    printJson(context, answer.json !== undefined ? answer.json : { status: answer.status, body: answer.text });
  }
  if (!ok) {
    const error = answer.json as { error?: unknown; code?: unknown } | undefined;
    const detail =
      typeof error?.error === 'string'
        ? `${error.error}${typeof error.code === 'string' ? ` (${error.code})` : ''}`
        : answer.text.slice(0, 200) || answer.statusText;
    context.io.stderr.write(`${context.colour('red', `${answer.status}`)} ${detail}\n`);
    return EXIT.refused;
  }
  if (!context.json) {
    const result =
      typeof answer.json === 'object' && answer.json !== null && !Array.isArray(answer.json)
        ? (answer.json as Record<string, unknown>)
        : { answer: answer.json ?? answer.text };
    const lines = human(result);
    if (lines.length > 0) context.io.stdout.write(`${lines.join('\n')}\n`);
  }
  return EXIT.ok;
}

function describeAnswer(answer: HttpAnswer): string {
  if (answer.json !== undefined) return ` ${JSON.stringify(answer.json)}`;
  if (answer.text.length === 0) return '';
  return `\n${answer.text.length > 2000 ? `${answer.text.slice(0, 2000)}...` : answer.text}`;
}

function deliveryLine(context: Context, delivery: Record<string, unknown>): string {
  const outcome = String(delivery.outcome);
  const good = outcome === 'accepted' || outcome === 'queued' || outcome === 'handshake';
  const events = Array.isArray(delivery.events)
    ? (delivery.events as Array<Record<string, unknown>>)
        .map((e) => `${e.entityType}.${e.eventType} ${e.entityId}`)
        .join('; ')
    : '';
  const reason = typeof delivery.reason === 'string' ? ` reason=${delivery.reason}` : '';
  return [
    context.colour('dim', String(delivery.receivedAt)),
    context.colour(good ? 'green' : outcome === 'duplicate' ? 'yellow' : 'red', outcome.padEnd(15)),
    `${events}${reason}`,
    context.colour('dim', String(delivery.id)),
  ].join('  ');
}

function keyValues(result: Record<string, unknown>): string[] {
  const width = Math.max(0, ...Object.keys(result).map((k) => k.length));
  return Object.entries(result).map(
    ([key, value]) => `${key.padEnd(width)}  ${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function printJson(context: Context, value: unknown): void {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function headerOptions(values: Context['values'][string]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of Array.isArray(values) ? values : []) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must be "name: value", got '${entry.slice(0, 40)}'`);
    headers[entry.slice(0, colon).trim().toLowerCase()] = entry.slice(colon + 1).trim();
  }
  return headers;
}

function jsonOption(context: Context, name: string): Record<string, unknown> | undefined {
  const value = stringValue(context, name);
  if (value === undefined) return undefined;
  const parsed = parseJsonText(value, `--${name}`);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--${name} must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

function stringValue(context: Context, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new UsageError(`${name} must be a positive whole number`);
  return parsed;
}

function checkUrl(value: string, name: string): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`${name} must be an http(s) URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`${name} must be an http(s) URL`);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

function paint(code: keyof typeof CODES, text: string): string {
  return `\u001b[${CODES[code]}m${text}\u001b[0m`;
}
