import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts', 'src/api-key.ts', 'src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
