import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = `${root}packages/`;

/** One vitest project per workspace package, named after its folder. */
function workspaceProjects(folder: string) {
  const dir = `${root}${folder}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(`${dir}/${entry.name}/package.json`))
    .map((entry) => ({
      extends: true as const,
      test: {
        name: entry.name,
        root: `${dir}/${entry.name}`,
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      },
    }));
}

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `pnpm test` needs no build first.
    alias: [
      { find: /^@webhooks\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
      { find: /^@webhooks\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packages}$1/src/$2.ts` },
    ],
  },
  test: {
    projects: [...workspaceProjects('packages'), ...workspaceProjects('apps')],
  },
});
