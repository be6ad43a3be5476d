import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisClient } from './client.js';

/**
 * A real redis-server for one test file, on a free port in a temp dir, started and stopped by pid
 * (TOOLCHAIN.md). Nothing is skipped when the binary is missing: the tests fail and say so.
 */
export class TestRedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #binary: string;
  #pid: number | undefined;

  private constructor(port: number, dir: string, binary: string) {
    this.port = port;
    this.dir = dir;
    this.#binary = binary;
  }

  static async start(binary = 'redis-server'): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'cache-redis-test-')), binary);
    running.add(server);
    try {
      await server.restart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  async restart(): Promise<void> {
    const pidFile = join(this.dir, 'redis.pid');
    rmSync(pidFile, { force: true });
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--daemonize', 'yes', '--pidfile', pidFile, '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'));
    const result = spawnSync(this.#binary, args, { encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${this.#binary} is not on PATH. These tests need a real Redis: install it with \`apt-get install -y redis-server\` (.ci/run does).`,
      );
    }
    if (result.status !== 0) throw new Error(`redis-server did not start: ${result.stderr || result.stdout}`);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'redis.pid');
    this.#pid = Number(readFileSync(pidFile, 'utf8').trim());
    await waitFor(() => ping(this.port), `redis-server on port ${this.port}`);
  }

  /** Kills the server (SIGKILL by default: a crash, not a shutdown) and waits until the port is closed. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.#pid;
    if (pid === undefined) return;
    this.#pid = undefined;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    // A killed daemon may linger unreaped as <defunct> here; what matters is that it stops answering.
    await waitFor(async () => !(await listening(this.port)), `redis-server ${pid} to exit`);
  }

  /** Kills the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A client with the package's fail-fast options, connected. */
  async client(): Promise<Redis> {
    const client = createRedisClient(this.url);
    await waitFor(() => client.status === 'ready', 'redis client ready');
    return client;
  }
}

const running = new Set<TestRedisServer>();
// A test file that crashes before afterAll must not leave its server behind.
process.once('exit', () => {
  for (const server of running) {
    if (server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {}
    }
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Polls until `condition` holds, failing after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
