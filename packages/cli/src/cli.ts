import { readFileSync } from 'node:fs';
import { run } from './run.js';

// The bin: everything else lives in `run`, which tests drive in-process.
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const controller = new AbortController();
// The first Ctrl-C stops `tail` cleanly; a second one ends the process at once.
process.once('SIGINT', () => {
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
  version: version(),
});
process.exitCode = code;
