// npm run deploy:db [-- --secrets-file F] [--rotate] [--print]
// Brings a Neon database to the current schema and gives the API role its password. Run it with
// NEON_OWNER_URL set to the owner role's DIRECT (unpooled) connection string; it is read from the
// environment, not the command line, so it stays out of shell history and `ps`.
// 1. Applies pending migrations as the owner (creating app_api on the first run).
// 2. Sets app_api's password: the one already in the secrets file when that file has a DB_URL for
//    this database, else a new random one (--rotate forces a new one). Only its SCRAM hash is sent.
// 3. Writes DB_URL (app_api, pooled host) to the git-ignored secrets file for deploy:secrets. The
//    password is printed only with --print.
// Safe to re-run: a second run applies nothing and keeps the password.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateUp, pgClientExec } from '../lib/migrations';
import { readEnvFile, setEnvValue } from './env-file';
import { OPTIONS } from './options';
import { scramVerifier } from './scram';

const API_ROLE = 'app_api';

const { values } = parseArgs({ options: OPTIONS.database });
const secretsFile = values['secrets-file'];

/** Neon's pooled endpoint is the direct host with -pooler after the endpoint id. */
const POOLER = /^(ep-[a-z0-9-]+?)-pooler(\.)/;
const NEON_DIRECT = /^(ep-[a-z0-9-]+?)(\.[a-z0-9-]+\.[a-z0-9-]+\.neon\.tech)$/;

function fail(message: string): never {
  console.error(`deploy:db: ${message}`);
  process.exit(2);
}

function ownerUrl(): URL {
  const raw = process.env.NEON_OWNER_URL;
  if (!raw) fail("set NEON_OWNER_URL to the owner role's direct connection string (docs/deploy.md)");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail('NEON_OWNER_URL is not a postgres:// URL'); // the value itself may hold a password
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) fail('NEON_OWNER_URL is not a postgres:// URL');
  // PgBouncer in transaction mode would drop the runner's session-level advisory lock between
  // statements, and DDL must not go through a pool anyway.
  if (POOLER.test(url.hostname)) fail('NEON_OWNER_URL is the pooled (-pooler) endpoint: use the direct one');
  return url;
}

/** The Worker's DB_URL: the owner's URL with app_api and, on Neon, the pooled host. */
function apiUrl(owner: URL, password: string): string {
  const url = new URL(owner);
  url.username = API_ROLE;
  url.password = password;
  // Requests set their identity with set_config(…, true), local to the batch's transaction, so
  // transaction pooling is safe, and it spares Neon a backend per concurrent request.
  url.hostname = url.hostname.replace(NEON_DIRECT, '$1-pooler$2');
  return url.toString();
}

/** The password of a DB_URL already written for this database, to keep across re-runs. */
function existingPassword(dbUrl: string | undefined, owner: URL): string | undefined {
  if (!dbUrl) return undefined;
  try {
    const url = new URL(dbUrl);
    const sameDatabase = url.pathname === owner.pathname && new URL(apiUrl(owner, 'x')).hostname === url.hostname;
    return sameDatabase && url.username === API_ROLE && url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    return undefined;
  }
}

async function checkOwner(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ name: string; rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean }>(
    'select rolname as name, rolsuper, rolcreaterole, rolbypassrls from pg_roles where rolname = current_user',
  );
  const role = rows[0]!;
  if (role.rolsuper) return;
  if (!role.rolcreaterole) fail(`role ${role.name} lacks CREATEROLE, which creating ${API_ROLE} needs: connect as the project's owner role`);
  // The job functions run SECURITY DEFINER as the migrating role, across every user's rows of
  // tables with forced row-level security: without BYPASSRLS they would silently find nothing.
  if (!role.rolbypassrls) fail(`role ${role.name} lacks BYPASSRLS, which the scheduled jobs it will own need: connect as the project's owner role`);
}

const owner = ownerUrl();
const client = new pg.Client({ connectionString: owner.toString() });
try {
  await client.connect();
  await checkOwner(client);
  const applied = await migrateUp(pgClientExec(client), { log: (line) => console.log(line) });
  console.log(`${owner.host}${owner.pathname}: ${applied.length > 0 ? `${applied.length} migration(s) applied` : 'no migration pending'}`);

  const kept = values.rotate ? undefined : existingPassword((await readEnvFile(secretsFile)).DB_URL, owner);
  const password = kept ?? randomBytes(32).toString('base64url');
  await client.query(`alter role ${API_ROLE} password ${client.escapeLiteral(scramVerifier(password))}`);
  const dbUrl = apiUrl(owner, password);
  await setEnvValue(secretsFile, 'DB_URL', dbUrl);
  console.log(`${API_ROLE}: ${kept ? 'password kept' : 'new password set'}; DB_URL written to ${secretsFile}`);
  if (values.print) console.log(dbUrl);
} catch (error) {
  console.error(`deploy:db: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await client.end().catch(() => undefined);
}
