import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, as an append-only list: a released migration is never edited, only followed by a
 * new one, so every database can be brought forward from whatever version it is at.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE registrations (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        integration_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        etag TEXT NOT NULL,
        -- SecretBox-sealed: the newest secret, and the JSON list of rotated-out ones (NULL when absent).
        secret_sealed TEXT NOT NULL,
        previous_secrets_sealed TEXT,
        -- Every other field, as JSON (no secrets).
        document TEXT NOT NULL
      ) STRICT;
      CREATE INDEX registrations_by_tenant ON registrations (tenant_id, created_at, id);

      -- Kept apart from the document so increments are single UPDATEs that never race an etag.
      CREATE TABLE registration_counters (
        registration_id TEXT PRIMARY KEY REFERENCES registrations (id) ON DELETE CASCADE,
        processed_event_count INTEGER NOT NULL DEFAULT 0,
        failure_count INTEGER NOT NULL DEFAULT 0,
        verification_failure_count INTEGER NOT NULL DEFAULT 0,
        last_event_at INTEGER,
        last_failure_at INTEGER,
        last_verification_failure_at INTEGER
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        registration_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        headers TEXT NOT NULL,
        body BLOB NOT NULL,
        details TEXT NOT NULL
      ) STRICT;
      CREATE INDEX deliveries_by_registration ON deliveries (registration_id, received_at, seq);
      CREATE INDEX deliveries_rejected ON deliveries (registration_id, seq) WHERE outcome = 'rejected';

      CREATE TABLE dedupe_claims (
        registration_id TEXT NOT NULL,
        key TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (registration_id, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX dedupe_claims_by_expiry ON dedupe_claims (expires_at);

      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        integration_id TEXT NOT NULL,
        task TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        leased_until INTEGER,
        created_at INTEGER NOT NULL,
        last_error TEXT
      ) STRICT;
      CREATE INDEX outbox_pending ON outbox (status, available_at);
      CREATE INDEX outbox_leased ON outbox (status, leased_until);

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        name TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
    `,
  },
  {
    version: 2,
    name: 'two-phase dedupe claims',
    // A claim is 'pending' (a short lease, taken before the delivery is stored) until the append
    // that stores its delivery makes it 'committed'. Claims written before this migration were
    // taken for a week by a receiver that treated them as final: they stay final ('committed').
    sql: `
      ALTER TABLE dedupe_claims ADD COLUMN state TEXT NOT NULL DEFAULT 'committed'
        CHECK (state IN ('pending', 'committed'));
    `,
  },
  {
    version: 3,
    name: 'outbox task kinds',
    // 'sync' tasks go to the queue, 'publish' tasks (with their event as JSON) to Event Grid. Tasks
    // written before this migration were all sync tasks.
    sql: `
      ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'sync' CHECK (kind IN ('sync', 'publish'));
      ALTER TABLE outbox ADD COLUMN event TEXT;
      DROP INDEX outbox_pending;
      DROP INDEX outbox_leased;
      CREATE INDEX outbox_pending ON outbox (kind, status, available_at);
      CREATE INDEX outbox_leased ON outbox (kind, status, leased_until);
    `,
  },
];

/**
 * Brings the database to the newest schema. One IMMEDIATE transaction, so two processes opening
 * the same file at once apply each migration exactly once; refuses a database written by a newer
 * version of this package rather than guessing at its schema.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
  now = Date.now(),
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current = db.prepare<[], { version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const apply = db.transaction((): number[] => {
    const at = current.get()?.version ?? 0;
    if (at > newest) {
      throw new Error(
        `The database schema is version ${at}; this @webhooks/store-sqlite knows up to ${newest}. Upgrade the package.`,
      );
    }
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= at) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now);
      applied.push(migration.version);
    }
    return applied;
  });
  return apply.immediate();
}
