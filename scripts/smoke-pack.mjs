// Packs the publishable packages as npm would, installs the tarballs into an empty scratch project
// and checks that `@webhooks/verifiers` (and its subpaths) load with `import` and with `require`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = ['core', 'verifiers'];
const scratch = mkdtempSync(join(tmpdir(), 'webhooks-smoke-'));
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

try {
  const tarballs = {};
  for (const name of packages) {
    run('pnpm', ['pack', '--pack-destination', scratch], join(root, 'packages', name));
  }
  for (const file of readdirSync(scratch).filter((f) => f.endsWith('.tgz'))) {
    const name = file.replace(/^webhooks-/, '').replace(/-\d+\.\d+\.\d+.*\.tgz$/, '');
    tarballs[`@webhooks/${name}`] = `file:./${file}`;
  }
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, dependencies: tarballs, overrides: tarballs }, null, 2),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], scratch);

  const check = `
    const secret = "It's a Secret to Everybody";
    const request = { headers: { 'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' }, body: 'Hello, World!' };
    const result = await verifyWebhook('github', request, { secrets: [secret] });
    const sub = await verifyGitHub(request, { secrets: [secret] });
    if (!result.ok || !sub.ok) throw new Error('verification failed: ' + JSON.stringify(result));
  `;
  writeFileSync(
    join(scratch, 'esm.mjs'),
    `import { verifyWebhook } from '@webhooks/verifiers';\nimport { verifyGitHub } from '@webhooks/verifiers/github';\n${check}\nconsole.log('ESM import ok');\n`,
  );
  writeFileSync(
    join(scratch, 'cjs.cjs'),
    `const { verifyWebhook } = require('@webhooks/verifiers');\nconst { verifyGitHub } = require('@webhooks/verifiers/github');\n(async () => {${check}\nconsole.log('CJS require ok');\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
  );
  process.stdout.write(run('node', ['esm.mjs'], scratch));
  process.stdout.write(run('node', ['cjs.cjs'], scratch));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
