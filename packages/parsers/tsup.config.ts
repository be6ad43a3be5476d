import { readdirSync } from 'node:fs';
import { defineConfig } from 'tsup';

// One entry per provider module so each has its own subpath (`@webhooks/parsers/github`).
const entry = readdirSync('src').filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));

export default defineConfig({
  entry: entry.map((name) => `src/${name}`),
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  splitting: true,
  target: 'node20',
});
