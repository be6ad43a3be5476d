import { runStoreConformance } from '@webhooks/testkit/vitest';
import { MemoryStore } from './memory-store.js';

// The reference implementation: its semantics are the contract the suite encodes.
runStoreConformance('MemoryStore', () => ({ store: new MemoryStore() }));
