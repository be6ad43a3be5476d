import { createAesGcmSecretBox } from '@webhooks/service';
import { runStoreConformance } from '@webhooks/testkit/vitest';
import { afterAll, beforeAll } from 'vitest';
import { openCosmosStore } from './cosmos-store.js';
import { type LocalCosmos, startLocalCosmos } from './test-support.js';

let cosmos: LocalCosmos;
let databases = 0;

beforeAll(async () => {
  cosmos = await startLocalCosmos();
});
afterAll(async () => {
  await cosmos.close();
});

// Every test gets its own database on the in-process server: an empty store, as the suite requires.
runStoreConformance(
  'CosmosStore on @vercel/cosmosdb-server',
  async () => {
    const store = await openCosmosStore({
      client: cosmos.client(),
      databaseId: `conformance-${++databases}`,
      secretBox: createAesGcmSecretBox('conformance passphrase'),
      createIfNotExists: true,
    });
    return { store };
  },
  { slowTestTimeoutMs: 120_000 },
);
