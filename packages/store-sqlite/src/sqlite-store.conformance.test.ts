import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAesGcmSecretBox } from '@webhooks/service';
import { runStoreConformance } from '@webhooks/testkit/vitest';
import { SqliteStore } from './sqlite-store.js';

const secretBox = createAesGcmSecretBox('conformance test key');

// A fresh file in a fresh temporary directory per test: the suite assumes an empty store.
runStoreConformance('SqliteStore (file, WAL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-'));
  const store = new SqliteStore({ dataDir: dir, secretBox, pruneIntervalMs: 0 });
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runStoreConformance(':memory: SqliteStore', () => {
  const store = new SqliteStore({ path: ':memory:', secretBox, pruneIntervalMs: 0 });
  return { store, close: () => store.close() };
});

// SQLite's WAL default durability (no fsync per commit) must keep every semantic too.
runStoreConformance('SqliteStore (file, synchronous=normal)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-'));
  const store = new SqliteStore({ dataDir: dir, secretBox, pruneIntervalMs: 0, synchronous: 'normal' });
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
