// The bounded flood's attacker: scripts/junk-flood.mjs in a process of its own (an open loop of
// invalid-signature deliveries at a fixed rate), switched on and off between the valid tenant's
// phases. Its event loop is not the test process's, so the valid tenant's latencies measure the
// receiver, not a generator busy sending junk; the two still share the machine's cores.
import type { ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processCpuMs, spawnChild, stopChild, waitFor } from './harness.js';

const FLOOD_SCRIPT = fileURLToPath(new URL('../scripts/junk-flood.mjs', import.meta.url));

/** What the attacker sent in one phase (see scripts/junk-flood.mjs). */
export interface FloodPhase {
  rate: number;
  /** Requests sent (skipped ones excluded). */
  requests: number;
  answered: number;
  /** Not sent: 256 requests were already waiting for an answer (the receiver fell behind). */
  skipped: number;
  statuses: Record<string, number>;
  /** From `start` to `stop`. */
  sendingMs: number;
  /** From `start` to the last answer. */
  ms: number;
  /** The attacker process's own CPU time in the phase. */
  cpuMs: number;
  p50: number;
  p99: number;
}

export class JunkFlood {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #reader: Interface;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#reader = createInterface({ input: child.stdout! });
    this.#reader.on('line', (line) => this.#lines.push(line));
  }

  /** Starts the attacker against one receive route (`${receiver.url}/webhooks/${id}`). */
  static async start(url: string): Promise<JunkFlood> {
    const child = spawnChild(process.execPath, [FLOOD_SCRIPT, url], { stdio: ['pipe', 'pipe', 'inherit'] });
    const flood = new JunkFlood(child);
    await waitFor(() => flood.#lines.includes('ready'), 'the junk flood process', 15_000);
    flood.#lines.length = 0;
    return flood;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** The attacker's CPU time so far, in ms (from /proc). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Starts sending at `ratePerSecond`. */
  begin(ratePerSecond: number): void {
    this.#child.stdin!.write(`start ${ratePerSecond}\n`);
  }

  /** Stops sending; resolves once the requests in flight are answered, with the phase's figures. */
  async end(): Promise<FloodPhase> {
    this.#child.stdin!.write('stop\n');
    await waitFor(() => this.#lines.length > 0, 'the junk flood to stop', 40_000);
    return JSON.parse(this.#lines.shift()!) as FloodPhase;
  }

  async close(): Promise<void> {
    this.#reader.close();
    this.#child.stdin!.end();
    await stopChild(this.#child);
  }
}
