#!/usr/bin/env node
import { createAesGcmSecretBox } from '@webhooks/service';
import { Authenticator } from './auth.js';
import { ConfigError, loadConfig } from './config.js';
import { openStore, secretKey } from './runtime.js';

const USAGE = `Usage:
  api-key create <tenantId> [name]   create a key (printed once, stored hashed)
  api-key list <tenantId>            list a tenant's keys (never the keys)
  api-key revoke <tenantId> <keyId>  revoke a key
Works on the store the receiver is configured with (WEBHOOKS_DATA_DIR, or COSMOS_*).`;

async function main(): Promise<number> {
  const [command, tenantId, extra] = process.argv.slice(2);
  if (!command || !tenantId || !['create', 'list', 'revoke'].includes(command) || (command === 'revoke' && !extra)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig();
  const store = await openStore(config, createAesGcmSecretBox(secretKey(config)), []);
  try {
    const auth = new Authenticator(store);
    if (command === 'create') {
      const created = await auth.createKey(tenantId, extra);
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(`Created ${created.id} for tenant ${tenantId}. Keep the key: it is not shown again.\n`);
    } else if (command === 'list') {
      for (const key of await auth.listKeys(tenantId)) {
        process.stdout.write(
          `${key.id}\t${key.name ?? ''}\t${key.createdAt.toISOString()}\t${key.revokedAt ? 'revoked' : 'active'}\n`,
        );
      }
    } else if (!(await auth.revokeKey(extra!, tenantId))) {
      process.stderr.write(`No key ${extra} for tenant ${tenantId}\n`);
      return 1;
    }
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
