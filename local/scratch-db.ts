import pg from "pg";

/**
 * A throwaway database on a Postgres server, for one test run: returns null when the server is
 * not reachable (the caller falls back to embedded PGlite).
 */
export async function createScratchDatabase(serverUrl: string, prefix = "edge_test") {
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 1500 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    adminUrl: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
