import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema, graphql } from "graphql";
import { createConnection } from "mysql2/promise";
import pg from "pg";

/**
 * The sources the factory connector tests read (docs/factory-connectors.md): a Postgres
 * database reached through a read-only role, a MariaDB (or MySQL) database reached through a
 * user that may only SELECT, and an HTTP server speaking REST and GraphQL (graphql-js, the
 * reference implementation) that wants a bearer token.
 */

const LINES = ["L01", "L02", "L03"];

/**
 * In the run's scratch database: mes.production_rows (60 sample rows, 20 per line) and a login
 * role, unique to the run, that may only read it and whose transactions are read-only.
 */
export async function startReadOnlySource(adminUrl: string) {
  const role = `edge_reader_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`
      create schema if not exists mes;
      create table if not exists mes.production_rows (
        id int primary key, line_code text not null, produced_at timestamptz not null,
        good int not null, defects int not null, lot bigint not null, note text);
      insert into mes.production_rows
        select i, (array['${LINES.join("','")}'])[1 + (i - 1) % 3], timestamptz '2026-11-01 06:00Z' + make_interval(hours => i),
               100 + i, i % 7, 9000000000 + i, case when i % 10 = 0 then 'it''s a ; tricky -- note' end
        from generate_series(1, 60) as i
        on conflict do nothing;
      create sequence if not exists mes.lot_seq;
      create role ${role} login password 'unused-under-trust';
      alter role ${role} set default_transaction_read_only = on;
      grant usage on schema mes to ${role};
      grant select on mes.production_rows to ${role};
      grant usage on sequence mes.lot_seq to ${role};`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  return {
    host: url.hostname,
    port: url.port || "5432",
    database: url.pathname.slice(1),
    user: role,
    async drop(serverUrl: string) {
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        await admin.query(`drop role if exists ${role}`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * On the MySQL server at `adminUrl` (root on this machine and CI's MariaDB): database
 * edge_mes, created once and shared by runs (same 60 rows as Postgres, a sequence the
 * read-only transaction must refuse to advance, a table the reader may not read), and a user
 * unique to the run, with a random password, granted SELECT on edge_mes.production_rows
 * alone. Null when no server answers (the mysql tests then fail, saying so).
 */
export async function startMysqlSource(adminUrl: string) {
  const url = new URL(adminUrl);
  const admin = await createConnection({ uri: adminUrl, multipleStatements: true }).catch((err: Error) => {
    console.warn(`[connector-sources] no MySQL server at ${url.host}: ${err.message}`);
    return null;
  });
  if (!admin) return null;
  const user = `edge_reader_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const password = `my-${crypto.randomUUID()}`;
  try {
    await admin.query(`
      create database if not exists edge_mes;
      create table if not exists edge_mes.production_rows (
        id int primary key, line_code varchar(8) not null, produced_at datetime(3) not null,
        good int not null, defects int not null, lot bigint not null, ratio decimal(6,3) not null, note text);
      insert ignore into edge_mes.production_rows
        select seq, elt(1 + (seq - 1) % 3, '${LINES.join("','")}'), timestamp '2026-11-01 06:00:00' + interval seq hour,
               100 + seq, seq % 7, 9000000000 + seq, seq / 8, case when seq % 10 = 0 then 'it''s a ; tricky -- note' end
        from (with recursive n(seq) as (select 1 union all select seq + 1 from n where seq < 60) select seq from n) as numbers;
      create sequence if not exists edge_mes.lot_seq;
      create table if not exists edge_mes.secrets (id int primary key, value text);`);
    await admin.query(`create user ?@'%' identified by ?`, [user, password]);
    await admin.query(`grant select on edge_mes.production_rows to ?@'%'`, [user]);
  } finally {
    await admin.end();
  }
  return {
    host: url.hostname,
    port: url.port || "3306",
    database: "edge_mes",
    user,
    password,
    admin: { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
    async drop() {
      const again = await createConnection({ uri: adminUrl });
      try {
        await again.query(`drop user if exists ?@'%'`, [user]);
      } finally {
        await again.end();
      }
    },
  };
}

const schema = buildSchema(`
  type ProductionRow { id: Int!, lineCode: String!, good: Int!, defects: Int! }
  type Query { productionRows(lineCode: String!, limit: Int): [ProductionRow!]!, slow: String }
  type Mutation { deleteRow(id: Int!): Boolean }
`);

const rowsOf = (line: string, limit = 20) =>
  Array.from({ length: 60 }, (_, k) => k + 1)
    .filter((i) => LINES[(i - 1) % 3] === line)
    .slice(0, limit)
    .map((i) => ({ id: i, lineCode: line, good: 100 + i, defects: i % 7 }));

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => resolve(body));
  });

/**
 * REST under /api/v1 (GET /health and /health/…, counted per path, /lines/{line}/rows?limit=, /slow) and GraphQL at POST /graphql,
 * both wanting `Authorization: Bearer <token>` (health excepted). GET /__stats tells the tests
 * what arrived: how many mutations (none may ever), health checks per path and the last REST URL.
 */
export async function startHttpSource(token: string) {
  const stats = { mutations: 0, lastUrl: "", health: {} as Record<string, number> };
  const root = {
    productionRows: ({ lineCode, limit }: { lineCode: string; limit?: number }) => rowsOf(lineCode, limit ?? 20),
    slow: () => new Promise((resolve) => setTimeout(() => resolve("late"), 3000)),
    deleteRow: () => {
      stats.mutations++;
      return true;
    },
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://source");
    const send = (status: number, body: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/__stats") return send(200, stats);
    if (url.pathname.startsWith("/api/v1/health")) {
      stats.health[url.pathname] = (stats.health[url.pathname] ?? 0) + 1;
      return send(200, { status: "ok" });
    }
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: "unauthorized" });
    if (req.method === "POST" && url.pathname === "/graphql") {
      const { query, variables } = JSON.parse(await readBody(req)) as { query: string; variables?: Record<string, unknown> };
      return send(200, await graphql({ schema, source: query, rootValue: root, variableValues: variables }));
    }
    if (req.method !== "GET") return send(405, { error: "method not allowed" });
    stats.lastUrl = url.pathname + url.search;
    const line = /^\/api\/v1\/lines\/([^/]+)\/rows$/.exec(url.pathname);
    if (line) return send(200, { data: { items: rowsOf(decodeURIComponent(line[1]!), Number(url.searchParams.get("limit") ?? 20)) } });
    if (url.pathname === "/api/v1/slow") return setTimeout(() => send(200, { data: { items: [] } }), 3000);
    return send(404, { error: "not found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
