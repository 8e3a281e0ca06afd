import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/worker";
import type { SqlConfig } from "../../src/factory/connector-config";
import { queryMysql } from "../../src/factory/connector-mysql";
import { bindNamedParameters } from "../../src/factory/sql-text";
import { EVERY_MINUTE } from "../../src/platform/system";
import { expectProblem, roundTrips, testEnv } from "./helpers";
import { seedTenant, type FactoryUser } from "./factory-helpers";
import { BASE, callKept as call, mysqlSource, searchForSecrets, secret } from "./factory-connectors-helpers";

/**
 * mysql connectors against this machine's (and CI's) MariaDB, through the HTTP API: a user that
 * may only SELECT one table (test/setup/connector-sources.ts), mysql2 with disableEval on
 * workerd's node:net. Every response, error body and console line is searched for the run's
 * MariaDB password and the passwords made here.
 */

searchForSecrets();

async function connector(admin: FactoryUser, body: Record<string, unknown>): Promise<string> {
  const res = await call("POST", BASE, { token: admin.bearer, body: { name: `c-${crypto.randomUUID()}`, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}
const query = (admin: FactoryUser, id: string, body: Record<string, unknown>) => call("POST", `${BASE}/${id}/query`, { token: admin.bearer, body });

describe("the MySQL driver in workerd", () => {
  /** Runs `work` with eval and Function replaced by traps that record each call and throw, as workerd does outside its test runner. */
  async function withoutCodeGeneration<T>(work: () => Promise<T>): Promise<{ result: T | Error; calls: string[] }> {
    const calls: string[] = [];
    const original = { Function: globalThis.Function, eval: globalThis.eval };
    const refuse = (name: string) =>
      function (..._args: unknown[]) {
        calls.push(name);
        throw new EvalError(`${name}: code generation from strings is disallowed`);
      };
    Object.assign(globalThis, { Function: refuse("Function"), eval: refuse("eval") });
    try {
      return { result: await work().catch((err: Error) => err), calls };
    } finally {
      Object.assign(globalThis, original);
    }
  }

  it("mysql2 with disableEval never calls eval or new Function; without it, it would", async () => {
    const source = mysqlSource();
    const config = { ...source.config, port: Number(source.config.port), read_only: true as const, query_timeout_seconds: 10, max_rows: 1000 } as SqlConfig;
    const bound = bindNamedParameters("select id, line_code, produced_at, lot, ratio, note from production_rows where id = :id", { id: 10 }, "mysql");
    const safe = await withoutCodeGeneration(() => queryMysql(config, source.credentials, bound, 10));
    expect(safe.calls).toEqual([]);
    // DATETIME as the server's text (it has no time zone), BIGINT and DECIMAL as text (exact).
    expect(safe.result).toMatchObject({
      rows: [{ id: 10, line_code: "L01", produced_at: "2026-11-01 16:00:00", lot: "9000000010", ratio: "1.250", note: "it's a ; tricky -- note" }],
    });
    // The control: mysql2's default row parsers are generated code, and the traps see them.
    const { createConnection } = await import("mysql2/promise");
    const generated = await withoutCodeGeneration(async () => {
      const connection = await createConnection({ host: config.host, port: config.port, database: config.database, user: source.credentials.username, password: source.credentials.password });
      try {
        return await connection.execute("select id from production_rows where id = ?", [1]);
      } finally {
        connection.destroy();
      }
    });
    expect(generated.calls.length).toBeGreaterThan(0);
  });
});

describe("mysql connector through a SELECT-only user", () => {
  it("CRUD with type mysql: defaults, credentials sealed and never returned, engine mysql or mariadb", async () => {
    const { admin } = await seedTenant();
    const source = mysqlSource();
    const created = await call("POST", BASE, { token: admin.bearer, body: { name: `m-${crypto.randomUUID()}`, type: "mysql", ...source } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ type: "mysql", status: "inactive", hasCredentials: true, credentialsKeyId: "k2026" });
    expect(created.body.config).toMatchObject({ port: Number(source.config.port), read_only: true, query_timeout_seconds: 10, max_rows: 1000 });
    expect(JSON.stringify(created.body)).not.toContain(source.credentials.password);
    expect(await roundTrips(created.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    const defaults = await call("POST", BASE, { token: admin.bearer, body: { name: `m-${crypto.randomUUID()}`, type: "mysql", config: { host: "db.example", database: "mes" }, credentials: source.credentials } });
    expect(defaults.body.config).toMatchObject({ port: 3306, ssl_enabled: true });
    const noCredentials = await call("POST", BASE, { token: admin.bearer, body: { name: `m-${crypto.randomUUID()}`, type: "mysql", config: source.config } });
    expectProblem(noCredentials, 422, "validation_failed");
    expect(noCredentials.body.errors[0].path).toBe("json.credentials");
    const badEngine = await call("POST", BASE, { token: admin.bearer, body: { name: `m-${crypto.randomUUID()}`, type: "mysql", engine: "postgres", ...source } });
    expect(badEngine.body.errors[0]).toEqual({ path: "json.engine", message: "must be one of mysql, mariadb for mysql" });
    const writable = await call("POST", BASE, { token: admin.bearer, body: { name: `m-${crypto.randomUUID()}`, type: "mysql", config: { ...source.config, read_only: false }, credentials: source.credentials } });
    expect(writable.body.errors[0].path).toBe("json.config.read_only");

    const read = await call("GET", `${BASE}/${created.body.id}`, { token: admin.bearer });
    expect(read.body).toMatchObject({ id: created.body.id, type: "mysql", hasCredentials: true });
    const listed = await call("GET", `${BASE}?type=mysql`, { token: admin.bearer });
    expect(listed.body.items.map((c: { id: string }) => c.id).sort()).toEqual([created.body.id, defaults.body.id].sort());
    const patched = await call("PATCH", `${BASE}/${created.body.id}`, { token: admin.bearer, body: { type: "mysql", credentials: { username: "someone", password: secret("mysql-new") } } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const wrongType = await call("PATCH", `${BASE}/${created.body.id}`, { token: admin.bearer, body: { type: "postgres", config: source.config } });
    expectProblem(wrongType, 409, "connector_type_mismatch");
    expect((await call("DELETE", `${BASE}/${created.body.id}`, { token: admin.bearer })).status).toBe(204);
    expect((await call("GET", `${BASE}/${created.body.id}`, { token: admin.bearer })).status).toBe(404);
  });

  it("binds :named parameters as ? of a prepared statement: a value is never SQL, in one round trip to our database", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "mysql", ...mysqlSource() });
    const sql = "select id, line_code, defects from production_rows where line_code = :line and defects >= :min and (id > :min or line_code = :line) order by id # :not_a_param\n;";
    const res = await query(admin, id, { query: sql, params: { line: "L02", min: 3 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.columns).toEqual(["id", "line_code", "defects"]);
    expect(res.body.rows.length).toBeGreaterThan(3);
    expect(res.body.rows.every((r: { line_code: string; defects: number }) => r.line_code === "L02" && r.defects >= 3)).toBe(true);
    expect(res.body).toMatchObject({ truncated: false, rowCount: res.body.rows.length });
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    const injected = await query(admin, id, { query: "select count(*) as n from production_rows where line_code = :line", params: { line: "L01' or '1'='1" } });
    // count(*) is a BIGINT: text, as every BIGINT is (exact past 2^53).
    expect(injected.body.rows).toEqual([{ n: "0" }]);
    const backslash = await query(admin, id, { query: "select count(*) as n from production_rows where line_code = :line", params: { line: "L01\\' or 1=1 -- " } });
    expect(backslash.body.rows).toEqual([{ n: "0" }]);
    const literal = await query(admin, id, { query: "select ':line; -- not a param' as text, `note` from production_rows where note like :pattern limit 1", params: { pattern: "%;%" } });
    expect(literal.body.rows).toEqual([{ text: ":line; -- not a param", note: "it's a ; tricky -- note" }]);
    const bools = await query(admin, id, { query: "select :t as t, :n as n, :s as s", params: { t: true, n: null, s: "ü→✓" } });
    expect(bools.body.rows).toEqual([{ t: 1, n: null, s: "ü→✓" }]);
  });

  it("refuses writes up front, the read-only session refuses what a writing user could do, and the user may only SELECT", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "mysql", ...mysqlSource() });
    const upFront: [string, string][] = [
      ["delete from production_rows", "json.sql"],
      ["replace into production_rows (id) values (1)", "json.sql"],
      ["select 1; delete from production_rows", "json.sql"],
      ["select * into outfile '/tmp/x' from production_rows", "json.sql"],
      ["select * from production_rows for update", "json.sql"],
      ["select * from production_rows lock in share mode", "json.sql"],
      ["set session transaction read write", "json.sql"],
      ["select 1 /*! ; delete from production_rows */", "json.sql"],
      ["select 1 /*M!100000 , sleep(1) */", "json.sql"],
      ["select 'a\\' , 1", "json.sql"],
      ["select ?", "json.sql"],
      ["select :missing", "json.params.missing"],
    ];
    for (const [sql, path] of upFront) {
      const res = await query(admin, id, { query: sql, params: {} });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path, sql).toBe(path);
    }

    // A user that could write (root here): the session's READ ONLY transaction refuses nextval().
    const writer = await connector(admin, { type: "mysql", ...mysqlSource({}, "admin") });
    const before = await query(admin, writer, { query: "select next_not_cached_value as next from lot_seq" });
    expect(before.status, JSON.stringify(before.body)).toBe(200);
    const sneaky = await query(admin, writer, { query: "select nextval(lot_seq) as n" });
    expectProblem(sneaky, 422, "connector_query_refused");
    expect(sneaky.body).toMatchObject({ sqlstate: "25006", errno: 1792, connectorId: writer });
    const readOnly = await query(admin, writer, { query: "select @@session.tx_read_only as ro, @@session.max_statement_time as timeout" });
    expect(readOnly.body.rows).toEqual([{ ro: "1", timeout: 10 }]);
    expect((await query(admin, writer, { query: "select next_not_cached_value as next from lot_seq" })).body.rows).toEqual(before.body.rows);

    // The reader's grants: SELECT on one table and nothing else, so another table is refused by the server.
    const grants = await query(admin, id, { query: "select privilege_type, table_name from information_schema.table_privileges union all select privilege_type, null from information_schema.user_privileges where privilege_type <> 'USAGE'" });
    expect(grants.body.rows).toEqual([{ privilege_type: "SELECT", table_name: "production_rows" }]);
    const secrets = await query(admin, id, { query: "select * from secrets" });
    expectProblem(secrets, 422, "connector_query_refused");
    expect(secrets.body).toMatchObject({ errno: 1142 });
    const missing = await query(admin, id, { query: "select nothing from production_rows" });
    expectProblem(missing, 422, "connector_query_failed");
    expect(missing.body).toMatchObject({ sqlstate: "42S22", errno: 1054 });
  });

  it("cancels a query past the connector's timeout (504) and cuts rows at the cap", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "mysql", ...mysqlSource({ query_timeout_seconds: 1, max_rows: 25 }) });
    const startedAt = Date.now();
    const slow = await query(admin, id, { query: "select sleep(5) as slept" });
    expectProblem(slow, 504, "connector_timeout");
    expect(slow.body.errno).toBe(1969);
    expect(Date.now() - startedAt).toBeLessThan(4500);

    const capped = await query(admin, id, { query: "select id from production_rows order by id" });
    expect(capped.body).toMatchObject({ rowCount: 25, truncated: true });
    expect(capped.body.rows.at(-1)).toEqual({ id: 25 });
    const fewer = await query(admin, id, { query: "select id from production_rows order by id", maxRows: 5 });
    expect(fewer.body).toMatchObject({ rowCount: 5, truncated: true });
    const exact = await query(admin, id, { query: "select id from production_rows where id <= 25" });
    expect(exact.body).toMatchObject({ rowCount: 25, truncated: false });
  });

  it("answers 502 when the source cannot be reached or refuses the password, without echoing it", async () => {
    const { admin } = await seedTenant();
    const down = await connector(admin, { type: "mysql", ...mysqlSource({ port: 9, query_timeout_seconds: 2 }) });
    expectProblem(await query(admin, down, { query: "select 1" }), 502, "connector_unreachable");
    const source = mysqlSource();
    const wrong = await connector(admin, { type: "mysql", config: source.config, credentials: { username: source.credentials.username, password: secret("mysql-wrong") } });
    const denied = await query(admin, wrong, { query: "select 1" });
    expectProblem(denied, 502, "connector_unreachable");
    expect(denied.body).toMatchObject({ errno: 1045 });
    const other = await seedTenant();
    expectProblem(await query(other.admin, down, { query: "select 1" }), 404, "not_found");
  });

  it("is health-checked by the minute cron: ok for the reader, an error for a wrong password", async () => {
    const { admin } = await seedTenant();
    const source = mysqlSource();
    const ids = [
      await connector(admin, { type: "mysql", ...source }),
      await connector(admin, { type: "mysql", config: source.config, credentials: { username: source.credentials.username, password: secret("mysql-health") } }),
    ];
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: Date.now() }), testEnv as never, ctx);
    await waitOnExecutionContext(ctx);
    for (let attempt = 0; ; attempt++) {
      const rows = await Promise.all(ids.map(async (id) => (await call("GET", `${BASE}/${id}`, { token: admin.bearer })).body));
      if (rows.every((r) => r.lastHealthStatus !== null) || attempt === 20) {
        expect(rows.map((r) => r.status)).toEqual(["active", "error"]);
        expect(rows[0].lastHealthStatus).toMatch(/^ok \(\d+ ms\)$/);
        expect(rows[1].lastHealthStatus).toMatch(/^unreachable: the source refused the connection: Access denied/);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
});
