import { describe, expect, it } from "vitest";
import { expectProblem, roundTrips } from "./helpers";
import { seedTenant, type FactoryUser } from "./factory-helpers";
import { BASE, callKept as call, graphqlConfig, pgSource, restConfig, searchForSecrets, secret, sourceStats, sourceToken, watch } from "./factory-connectors-helpers";

searchForSecrets();
watch(sourceToken);

async function connector(admin: FactoryUser, body: Record<string, unknown>, env?: Record<string, string | undefined>): Promise<string> {
  const res = await call("POST", BASE, { token: admin.bearer, body: { name: `c-${crypto.randomUUID()}`, ...body }, env });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}
const query = (admin: FactoryUser, id: string, body: Record<string, unknown>, env?: Record<string, string | undefined>) =>
  call("POST", `${BASE}/${id}/query`, { token: admin.bearer, body, env });

describe("postgres connector through a read-only role", () => {
  it("binds :named parameters as real parameters: a value is never SQL, in one round trip to our database", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "postgres", ...pgSource() });
    const sql = "select id, line_code, produced_at, defects, lot, note from mes.production_rows where line_code = :line_code and defects >= :min order by id -- :not_a_param in a comment\n;";
    const res = await query(admin, id, { query: sql, params: { line_code: "L02", min: 3 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.columns).toEqual(["id", "line_code", "produced_at", "defects", "lot", "note"]);
    expect(res.body.rows.length).toBeGreaterThan(3);
    expect(res.body.rows.every((r: { line_code: string; defects: number }) => r.line_code === "L02" && r.defects >= 3)).toBe(true);
    // Types as JSON: timestamps ISO, bigint as text.
    expect(res.body.rows[0].produced_at).toMatch(/^2026-11-0\dT\d\d:00:00\.000Z$/);
    expect(res.body.rows[0].lot).toMatch(/^90000000\d\d$/);
    expect(res.body).toMatchObject({ truncated: false, rowCount: res.body.rows.length });
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    // An injection attempt in a value is only a value: no line is called that.
    const injected = await query(admin, id, { query: "select count(*)::int as n from mes.production_rows where line_code = :line_code", params: { line_code: "L01' or '1'='1" } });
    expect(injected.body.rows).toEqual([{ n: 0 }]);
    // Strings holding ; -- and :words are text, not structure.
    const literal = await query(admin, id, { query: "select ':line_code; -- not a param' as text, note from mes.production_rows where note like :pattern limit 1", params: { pattern: "%;%" } });
    expect(literal.body.rows).toEqual([{ text: ":line_code; -- not a param", note: "it's a ; tricky -- note" }]);
  });

  it("refuses writes up front, and the read-only transaction refuses what gets past the text check", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "postgres", ...pgSource() });
    const upFront: [string, string][] = [
      ["delete from mes.production_rows", "json.sql"],
      ["select 1; delete from mes.production_rows", "json.sql"],
      ["with gone as (delete from mes.production_rows returning *) select * from gone", "json.sql"],
      ["select * into mes.copy from mes.production_rows", "json.sql"],
      ["select * from mes.production_rows for update", "json.sql"],
      ["set default_transaction_read_only = off", "json.sql"],
      ["select $1::int", "json.sql"],
      ["select :missing", "json.params.missing"],
    ];
    for (const [sql, path] of upFront) {
      const res = await query(admin, id, { query: sql, params: {} });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path, sql).toBe(path);
    }
    const unused = await query(admin, id, { query: "select 1", params: { line: "L01" } });
    expect(unused.body.errors).toEqual([{ path: "json.params.line", message: "the query has no placeholder :line" }]);

    const sneaky = await query(admin, id, { query: "select nextval('mes.lot_seq')" });
    expectProblem(sneaky, 422, "connector_query_refused");
    expect(sneaky.body).toMatchObject({ sqlstate: "25006", connectorId: id });
    const loosen = await query(admin, id, { query: "select set_config('transaction_read_only', 'off', true)" });
    expect(loosen.status).toBe(422);
    const stillThere = await query(admin, id, { query: "select count(*)::int as n from mes.production_rows" });
    expect(stillThere.body.rows).toEqual([{ n: 60 }]);
    const missing = await query(admin, id, { query: "select * from mes.nothing_here" });
    expectProblem(missing, 422, "connector_query_failed");
    expect(missing.body.sqlstate).toBe("42P01");
  });

  it("cancels a query past the connector's timeout (504) and cuts rows at the cap", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "postgres", ...pgSource({ query_timeout_seconds: 1, max_rows: 25 }) });
    // The connection's own startup parameters bound every statement and make every transaction read-only.
    const settings = await query(admin, id, { query: "select current_setting('statement_timeout') as timeout, current_setting('transaction_read_only') as ro, current_setting('application_name') as app" });
    expect(settings.body.rows).toEqual([{ timeout: "1s", ro: "on", app: "edge-api-factory-connector" }]);
    const slow = await query(admin, id, { query: "select pg_sleep(5)" });
    expectProblem(slow, 504, "connector_timeout");
    expect(slow.body.sqlstate).toBe("57014");

    const capped = await query(admin, id, { query: "select id from mes.production_rows order by id" });
    expect(capped.body).toMatchObject({ rowCount: 25, truncated: true });
    expect(capped.body.rows.at(-1)).toEqual({ id: 25 });
    const fewer = await query(admin, id, { query: "select id from mes.production_rows order by id", maxRows: 5 });
    expect(fewer.body).toMatchObject({ rowCount: 5, truncated: true });
    const above = await query(admin, id, { query: "select id from mes.production_rows order by id", maxRows: 500 });
    expect(above.body).toMatchObject({ rowCount: 25, truncated: true });
    const exact = await query(admin, id, { query: "select id from mes.production_rows where id <= 25" });
    expect(exact.body).toMatchObject({ rowCount: 25, truncated: false });
  });

  it("answers 502 when the source cannot be reached, and 404 for another tenant's connector", async () => {
    const { admin } = await seedTenant();
    const down = await connector(admin, { type: "postgres", ...pgSource({ port: 9 }) });
    const res = await query(admin, down, { query: "select 1" });
    expectProblem(res, 502, "connector_unreachable");
    const other = await seedTenant();
    expectProblem(await query(other.admin, down, { query: "select 1" }), 404, "not_found");
  });
});

describe("credential keys rotate", () => {
  it("opens credentials sealed under an older key by its kid; a kid no longer listed is a 502 naming why", async () => {
    const { admin } = await seedTenant();
    const [current, previous] = (process.env.FACTORY_CONNECTOR_KEYS ?? "").split(",");
    const keys = (await import("./helpers")).testEnv.FACTORY_CONNECTOR_KEYS!.split(",");
    expect(current ?? keys[0]).toBeTruthy();
    // Sealed while k2025 was the current key.
    const id = await connector(admin, { type: "postgres", ...pgSource() }, { FACTORY_CONNECTOR_KEYS: keys[1] });
    const read = await call("GET", `${BASE}/${id}`, { token: admin.bearer });
    expect(read.body.credentialsKeyId).toBe("k2025");
    // Now k2026 is current and k2025 still listed: the old ciphertext opens.
    const ok = await query(admin, id, { query: "select 1 as one" });
    expect(ok.body.rows).toEqual([{ one: 1 }]);
    // k2025 retired: a clear 502, not a 500, and no secret.
    const retired = await query(admin, id, { query: "select 1" }, { FACTORY_CONNECTOR_KEYS: keys[0] });
    expectProblem(retired, 502, "connector_unreachable");
    expect(retired.body).toMatchObject({ reason: "credentials_unknown_key" });
    expect(retired.body.detail).toContain("k2025");
    // Setting them again seals under the current key.
    const resealed = await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { type: "postgres", credentials: pgSource().credentials } });
    expect(resealed.body.credentialsKeyId).toBe("k2026");
    expect((await query(admin, id, { query: "select 1 as one" }, { FACTORY_CONNECTOR_KEYS: keys[0] })).body.rows).toEqual([{ one: 1 }]);
    expect(previous === undefined || previous.length > 0).toBe(true);
  });
});

describe("rest_api connector", () => {
  it("GETs a path under base_url with :segments URL-encoded, other params in the query string, the bearer token from credentials", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "rest_api", config: restConfig({ max_rows: 4 }), credentials: { bearer_token: sourceToken } });
    const res = await query(admin, id, { query: "/lines/:line_code/rows", params: { line_code: "L03", limit: 10 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ columns: ["id", "lineCode", "good", "defects"], rowCount: 4, truncated: true });
    expect(res.body.rows[0]).toEqual({ id: 3, lineCode: "L03", good: 103, defects: 3 });
    expect((await sourceStats()).lastUrl).toBe("/api/v1/lines/L03/rows?limit=10");
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    const odd = await query(admin, id, { query: "/lines/:line_code/rows", params: { line_code: "L0/../../admin?x=1" } });
    expect(odd.body.rows).toEqual([]);
    expect((await sourceStats()).lastUrl).toBe("/api/v1/lines/L0%2F..%2F..%2Fadmin%3Fx%3D1/rows");
    for (const path of ["/../secrets", "https://elsewhere.example/x", "/lines?x=1", "//elsewhere.example/x"]) {
      const refused = await query(admin, id, { query: path });
      expectProblem(refused, 422, "validation_failed");
      expect(refused.body.errors[0].path).toBe("json.query");
    }
  });

  it("maps the source's refusals, timeouts and absence to 502, 504 and 422", async () => {
    const { admin } = await seedTenant();
    const noToken = await connector(admin, { type: "rest_api", config: restConfig() });
    expectProblem(await query(admin, noToken, { query: "/lines/L01/rows" }), 502, "connector_unreachable");
    const wrongToken = await connector(admin, { type: "rest_api", config: restConfig(), credentials: { bearer_token: secret("wrong-token") } });
    const refused = await query(admin, wrongToken, { query: "/lines/L01/rows" });
    expectProblem(refused, 502, "connector_unreachable");
    expect(refused.body.upstreamStatus).toBe(401);
    const headerToken = await connector(admin, { type: "rest_api", config: restConfig({ query_timeout_seconds: 1 }), credentials: { headers: { Authorization: `Bearer ${sourceToken}` } } });
    expectProblem(await query(admin, headerToken, { query: "/slow" }), 504, "connector_timeout");
    const missing = await query(admin, headerToken, { query: "/nothing" });
    expectProblem(missing, 422, "connector_query_failed");
    expect(missing.body.upstreamStatus).toBe(404);
    const down = await connector(admin, { type: "rest_api", config: { base_url: "http://127.0.0.1:9/api" } });
    expectProblem(await query(admin, down, { query: "/x" }), 502, "connector_unreachable");
  });
});

describe("rest_api connector: staying under base_url", () => {
  it("refuses a parameter of . or .. and a percent-encoded dot segment, which the URL parser would resolve out of base_url; the source sees nothing", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "rest_api", config: restConfig(), credentials: { bearer_token: sourceToken } });
    const before = (await sourceStats()).lastUrl;
    for (const value of ["..", "."]) {
      const res = await query(admin, id, { query: "/:up/:up/admin", params: { up: value } });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path).toBe("json.params.up");
    }
    for (const path of ["/%2e%2e/%2E%2E/admin", "/lines/.%2e/x", "/%2e/x"]) {
      const res = await query(admin, id, { query: path });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path, path).toBe("json.query");
    }
    expect((await sourceStats()).lastUrl).toBe(before);
  });
});

describe("graphql connector", () => {
  it("sends params as variables and answers the root field's rows", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "graphql", config: graphqlConfig(), credentials: { bearer_token: sourceToken } });
    const doc = "# rows of one line\nquery Rows($line: String!, $limit: Int) { productionRows(lineCode: $line, limit: $limit) { id lineCode defects } }";
    const res = await query(admin, id, { query: doc, params: { line: "L01", limit: 3 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ columns: ["id", "lineCode", "defects"], rowCount: 3, truncated: false });
    expect(res.body.rows.map((r: { id: number }) => r.id)).toEqual([1, 4, 7]);
    const errors = await query(admin, id, { query: "{ productionRows { id } }" });
    expectProblem(errors, 422, "connector_query_failed");
    expect(errors.body.detail).toMatch(/lineCode/);
  });

  it("refuses mutations and subscriptions before anything is sent", async () => {
    const { admin } = await seedTenant();
    const id = await connector(admin, { type: "graphql", config: graphqlConfig(), credentials: { bearer_token: sourceToken } });
    for (const doc of ["mutation { deleteRow(id: 1) }", "query A { slow } mutation B { deleteRow(id: 1) }", "subscription { rows }", 'query { slow } # mutation\nmutation M { deleteRow(id: 2) }']) {
      const res = await query(admin, id, { query: doc });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors[0].path).toBe("json.query");
    }
    const harmless = await query(admin, id, { query: '{ productionRows(lineCode: "mutation { x }", limit: 1) { id } }' });
    expect(harmless.body.rows).toEqual([]);
    expect((await sourceStats()).mutations).toBe(0);
  });
});
