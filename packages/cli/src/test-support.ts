import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The real receiver, from its sources, so `pnpm test` needs no build (see apps/api/src/runtime.test.ts).
import { loadConfig } from '../../../apps/api/src/config.js';
import { createLogger } from '../../../apps/api/src/logger.js';
import { createRuntime } from '../../../apps/api/src/runtime.js';
import { type OutputStream, run } from './run.js';

export const TEST_TOKEN = 'tenant-cli-key-0123456789abcdef';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts apps/api's runtime on 127.0.0.1 with SQLite in a temporary folder. The port is bound first
 * so PUBLIC_BASE_URL is the real address: Twilio, HubSpot and Google sign the URL they call.
 */
export async function startApi(env: Record<string, string> = {}): Promise<RunningApi> {
  const dataDir = mkdtempSync(join(tmpdir(), 'webhooks-cli-'));
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    WEBHOOKS_DATA_DIR: dataDir,
    WEBHOOKS_API_KEYS: `tenant-cli:${TEST_TOKEN}`,
    PUBLIC_BASE_URL: url,
    ...env,
  });
  const runtime = await createRuntime(config, createLogger('silent'));
  server.on('request', runtime.listener);
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Capture implements OutputStream {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** Runs one command line in-process, the way the bin does, and captures what it prints. */
export async function cli(
  argv: string[],
  options: { env?: Record<string, string | undefined>; tty?: boolean; signal?: AbortSignal } = {},
): Promise<CliResult> {
  const stdout = new Capture(options.tty);
  const stderr = new Capture(options.tty);
  const code = await run(argv, {
    stdout,
    stderr,
    env: options.env ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
