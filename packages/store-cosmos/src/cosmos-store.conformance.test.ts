import { createAesGcmSecretBox } from '@webhooks/service';
import { runStoreConformance } from '@webhooks/testkit/vitest';
import { afterAll, beforeAll } from 'vitest';
import { openCosmosStore } from './cosmos-store.js';
import { type LocalCosmos, startLocalCosmos } from './test-support.js';

let cosmos: LocalCosmos;
let databases = 0;

beforeAll(async () => {
  // The suite checks that a refused appendFresh writes nothing at all, which Cosmos DB guarantees
  // (a transactional batch is all-or-nothing) and this local server does not: with several keys it
  // keeps the claims created before the one that conflicted. `atomicBatches` gives it Cosmos DB's
  // behaviour (see test-support.ts); cosmos-store.test.ts shows what the server does without it.
  cosmos = await startLocalCosmos({ atomicBatches: true });
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
