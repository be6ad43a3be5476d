export { MIGRATIONS, type Migration, migrate } from './schema.js';
export {
  CLAIM_DEDUPE_KEY_SQL,
  isOurId,
  openSqliteStore,
  type PruneResult,
  SqliteStore,
  type SqliteStoreOptions,
} from './sqlite-store.js';
