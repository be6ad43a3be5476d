#!/usr/bin/env node
// `pnpm reliability`: the reliability suite's long form. Runs the same scenarios as the CI tests
// (apps/reliability/test), longer (RELIABILITY_LONG=1), then prints every scenario's figures as
// Markdown tables. `--short` runs the CI form; `--out FILE` also writes the tables to FILE;
// anything else is passed to vitest (a test file name, `-t pattern`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const args = process.argv.slice(2);
const short = args.includes('--short');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
const passThrough = args.filter((a, i) => a !== '--short' && i !== outIndex && i !== outIndex + 1);

const dir = mkdtempSync(join(tmpdir(), 'webhooks-reliability-figures-'));
const figures = join(dir, 'figures.jsonl');
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const started = Date.now();
const run = spawnSync(vitest, ['run', '--project', 'reliability', ...passThrough], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, RELIABILITY_LONG: short ? '0' : '1', RELIABILITY_FIGURES_FILE: figures },
});
const seconds = Math.round((Date.now() - started) / 1000);

const rows = existsSync(figures)
  ? readFileSync(figures, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(dir, { recursive: true, force: true });

const lines = [
  `Reliability figures (${short ? 'short' : 'long'} form), ${new Date().toISOString()}, node ${process.version}, ` +
    `${cpus().length} cores shared by the receiver, the load generator and the test servers, all on loopback; ` +
    `${seconds} s in all.`,
  '',
];
for (const { scenario, ...values } of rows) {
  lines.push(`### ${scenario}`, '', '| figure | value |', '| --- | --- |');
  for (const [key, value] of Object.entries(values)) lines.push(`| ${key} | ${value} |`);
  lines.push('');
}
const text = lines.join('\n');
process.stdout.write(`\n${text}\n`);
if (out) writeFileSync(out, `${text}\n`);
process.exit(run.status ?? 1);
