// Real processes for the reliability suite: the built receiver (apps/api/dist/main.js), redis-server
// and the Cosmos DB test server as child processes, started and stopped by pid; a TCP proxy that can
// cut the network to a server; temp dirs under os.tmpdir(). Everything started here is registered
// and torn down by `cleanup()` (and SIGKILLed if the test process exits first).
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECEIVER_MAIN = fileURLToPath(new URL('../../api/dist/main.js', import.meta.url));
const COSMOS_SCRIPT = fileURLToPath(new URL('../scripts/cosmos-server.mjs', import.meta.url));
const RELIABILITY_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** RELIABILITY_LONG=1 (`pnpm reliability`) runs the same scenarios longer. */
export const LONG = process.env.RELIABILITY_LONG === '1';
export function scale<T>(short: T, long: T): T {
  return LONG ? long : short;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const closers = new Set<() => Promise<void>>();

process.once('exit', () => {
  for (const child of children) killPid(child.pid, 'SIGKILL');
});

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Registers something to close in `cleanup()`. */
export function onCleanup(close: () => Promise<void>): void {
  closers.add(close);
}

/** Kills every child started here (by pid), closes registered servers and removes temp dirs. */
export async function cleanup(): Promise<void> {
  const exits: Promise<unknown>[] = [];
  for (const child of children) {
    if (alive(child)) {
      exits.push(new Promise((resolve) => child.once('exit', resolve)));
      killPid(child.pid, 'SIGKILL');
    }
  }
  children.clear();
  await Promise.race([Promise.all(exits), sleep(5000)]);
  for (const close of [...closers].reverse()) await close().catch(() => undefined);
  closers.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export function assertReceiverBuilt(): void {
  if (!existsSync(RECEIVER_MAIN)) {
    throw new Error(
      `${RECEIVER_MAIN} is missing: build the receiver first (\`pnpm test\` does; or ` +
        '`npx turbo run build --filter=@webhooks/api...`)',
    );
  }
}

export function tempDir(prefix = 'webhooks-reliability-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/** Output of a child kept whole (for the canary grep), up to 256 MB. */
class OutputLog {
  #chunks: string[] = [];
  #size = 0;
  attach(child: ChildProcess): void {
    const add = (chunk: Buffer) => {
      if (this.#size > 256 * 1024 * 1024) return;
      const text = chunk.toString('utf8');
      this.#chunks.push(text);
      this.#size += text.length;
    };
    child.stdout?.on('data', add);
    child.stderr?.on('data', add);
  }
  text(): string {
    return this.#chunks.join('');
  }
  tail(chars = 4000): string {
    return this.text().slice(-chars);
  }
}

// ------------------------------------------------------------------ the receiver

export interface Tenant {
  tenantId: string;
  key: string;
}

export interface ReceiverOptions {
  dataDir?: string;
  tenants: Tenant[];
  /** 64 hex characters; generated into the data dir by the receiver when absent (SQLite only). */
  secretKey?: string;
  logLevel?: string;
  /** Extra environment (REDIS_URL, COSMOS_ENDPOINT, SERVICEBUS_CONNECTION_STRING, ...). */
  env?: Record<string, string>;
  /** A fixed port (a restart on the same address); default a free one. */
  port?: number;
  /** Output of earlier incarnations, so one log covers every restart. */
  log?: OutputLog;
}

export class Receiver {
  readonly url: string;
  readonly log: OutputLog;
  readonly exited: Promise<void>;
  readonly #child: ChildProcess;
  readonly options: ReceiverOptions & { port: number; dataDir: string };

  private constructor(
    child: ChildProcess,
    options: ReceiverOptions & { port: number; dataDir: string },
    log: OutputLog,
  ) {
    this.#child = child;
    this.options = options;
    this.log = log;
    this.url = `http://127.0.0.1:${options.port}`;
    this.exited = new Promise((resolve) => {
      if (!alive(child)) resolve();
      else child.once('exit', () => resolve());
    });
  }

  static async start(options: ReceiverOptions): Promise<Receiver> {
    assertReceiverBuilt();
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? tempDir('webhooks-reliability-data-');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      WEBHOOKS_DATA_DIR: dataDir,
      WEBHOOKS_API_KEYS: options.tenants.map((t) => `${t.tenantId}:${t.key}`).join(','),
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...(options.secretKey ? { WEBHOOKS_SECRET_KEY: options.secretKey } : {}),
      ...options.env,
    };
    // A debugging knob (--inspect, --heap-prof, --cpu-prof --cpu-prof-dir=DIR for the receiver under
    // load), on the command line: Node 20 refuses --cpu-prof and --heap-prof in NODE_OPTIONS.
    const nodeArgs = (process.env.RELIABILITY_RECEIVER_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, RECEIVER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const log = options.log ?? new OutputLog();
    log.attach(child);
    const receiver = new Receiver(child, { ...options, port, dataDir }, log);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!alive(child)) throw new Error(`the receiver exited at start-up:\n${log.tail()}`);
      try {
        const response = await fetch(`${receiver.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the receiver did not start within 60 s:\n${log.tail()}`);
      await sleep(50);
    }
    return receiver;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return alive(this.#child);
  }

  /** CPU time the receiver process has used so far (user + system), in ms (from /proc, 10 ms steps). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Resident set size of the receiver process, in MB (from /proc). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    if (!match) throw new Error('no VmRSS in /proc status');
    return Number(match[1]) / 1024;
  }

  async sigkill(): Promise<void> {
    killPid(this.#child.pid, 'SIGKILL');
    await this.exited;
    children.delete(this.#child);
  }

  /** SIGTERM: the graceful stop (finishes requests in flight). */
  async stop(): Promise<void> {
    killPid(this.#child.pid, 'SIGTERM');
    await Promise.race([this.exited, sleep(35_000)]);
    if (alive(this.#child)) await this.sigkill();
    children.delete(this.#child);
  }

  /** A new process on the same port, data dir, environment and log. */
  restart(): Promise<Receiver> {
    return Receiver.start({ ...this.options, log: this.log });
  }
}

// ------------------------------------------------------------------ CPU time

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux whatever the kernel's HZ

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count from the closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

/** The whole machine's CPU time so far, busy and in all (every core), in ms, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((t, v) => t + v, 0);
  const idle = ticks[3]! + ticks[4]!; // idle + iowait
  return { busy: (total - idle) * CLOCK_TICK_MS, total: total * CLOCK_TICK_MS };
}

/** A child process of the suite's (killed by pid in `cleanup()`, or at exit). */
export function spawnChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  return child;
}

/** Stops a child started with `spawnChild` (SIGTERM, SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (alive(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killPid(child.pid, 'SIGTERM');
    await Promise.race([exited, sleep(graceMs)]);
    if (alive(child)) {
      killPid(child.pid, 'SIGKILL');
      await exited;
    }
  }
  children.delete(child);
}

// ------------------------------------------------------------------ redis-server

/** A real redis-server in the foreground as our child, killed and restarted by pid on one port. */
export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(): Promise<RedisProcess> {
    const check = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
    if (check.error) {
      throw new Error('redis-server is not on PATH: install it (`apt-get install -y redis-server`; .ci/run does)');
    }
    const redis = new RedisProcess(await freePort(), tempDir('webhooks-reliability-redis-'));
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir, '--protected-mode', 'no');
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    this.#child = child;
    await waitFor(() => ping(this.port), `redis-server on ${this.port}`);
  }

  /** SIGKILL: a crash. Waits until the port no longer answers. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    const exited = new Promise((resolve) => (alive(child) ? child.once('exit', resolve) : resolve(undefined)));
    killPid(child.pid, 'SIGKILL');
    await exited;
    children.delete(child);
    await waitFor(async () => !(await listening(this.port)), 'redis-server to stop answering');
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

// ------------------------------------------------------------------ the Cosmos DB test server

export const COSMOS_KEY = Buffer.from('reliability-cosmos-test-key').toString('base64');

/** @vercel/cosmosdb-server (in memory) as a child process. */
export class CosmosProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  private constructor(child: ChildProcess, port: number) {
    this.#child = child;
    this.port = port;
  }

  /** `advertisedPort`: the port of a proxy in front, which the account then names as its endpoint. */
  static async start(advertisedPort?: number): Promise<CosmosProcess> {
    const args = [COSMOS_SCRIPT, '0', 'https', ...(advertisedPort ? [String(advertisedPort)] : [])];
    const child = spawn(process.execPath, args, {
      cwd: RELIABILITY_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const log = new OutputLog();
    log.attach(child);
    await waitFor(() => /listening \d+/.test(log.text()) || !alive(child), 'the Cosmos DB test server', 30_000);
    const match = /listening (\d+)/.exec(log.text());
    if (!match) throw new Error(`the Cosmos DB test server did not start:\n${log.tail()}`);
    return new CosmosProcess(child, Number(match[1]));
  }

  get endpoint(): string {
    return `https://127.0.0.1:${this.port}/`;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }
}

// ------------------------------------------------------------------ a TCP proxy that can be cut

/**
 * Forwards 127.0.0.1:port to a target port. `cut()` stops listening and resets every connection
 * (the network to the server is gone: connection refused); `restore()` listens again on the same port.
 */
export class TcpProxy {
  readonly port: number;
  readonly #target: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  private constructor(port: number, target: number) {
    this.port = port;
    this.#target = target;
  }

  static async start(target: number, port?: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(port ?? (await freePort()), target);
    await proxy.restore();
    onCleanup(() => proxy.cut());
    return proxy;
  }

  async restore(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => {
      const upstream = new Socket();
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(this.#target, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
    await closed;
  }
}

// ------------------------------------------------------------------ the store's disk

/**
 * Limits how far the receiver may write into any regular file (RLIMIT_FSIZE, set on the running
 * process with util-linux prlimit): at 0 every write to the SQLite database and its WAL fails with
 * EFBIG, as on a full disk; `null` lifts the limit. Node ignores SIGXFSZ, so the process lives on.
 */
export function limitFileSize(pid: number, bytes: number | null): void {
  const value = bytes === null ? 'unlimited:unlimited' : `${bytes}:unlimited`;
  const result = spawnSync('prlimit', ['--pid', String(pid), `--fsize=${value}`], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`prlimit failed (util-linux is needed): ${result.error?.message ?? result.stderr}`);
  }
}
