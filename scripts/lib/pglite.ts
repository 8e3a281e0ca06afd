// Embedded Postgres (PGlite) with the extensions migration 0001 creates. PGlite can only
// CREATE EXTENSION for extensions loaded when the instance starts.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { uuid_ossp } from '@electric-sql/pglite/contrib/uuid_ossp';

/** Opens (or creates) a PGlite database in dataDir; in memory when dataDir is omitted. */
export function createPglite(dataDir?: string): Promise<PGlite> {
  // PGlite creates only the last path segment; on a fresh clone .local/ does not exist yet.
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  return PGlite.create(dataDir, { extensions: { pgcrypto, uuid_ossp, pg_trgm, btree_gin } });
}
