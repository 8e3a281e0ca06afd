import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditLogs, dataConnectors } from "../../src/factory/schema";
import { servicePrincipal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { expectProblem, roundTrips } from "./helpers";
import { as, db, seedTenant, seedUser } from "./factory-helpers";
import { BASE, callKept as call, pgSource, restConfig, searchForSecrets, secret } from "./factory-connectors-helpers";

searchForSecrets();

/** Test-side reads and writes across tenants, as the jobs do. */
const service = servicePrincipal(crypto.randomUUID());

const name = () => `c-${crypto.randomUUID()}`;

describe("factory connectors: CRUD", () => {
  it("registers a postgres connector with defaults applied and credentials sealed, never returned, audited without them", async () => {
    const { tenantId, admin } = await seedTenant();
    const source = pgSource();
    const res = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "postgres", ...source } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tenantId,
      type: "postgres",
      status: "inactive",
      hasCredentials: true,
      credentialsKeyId: "k2026",
      createdBy: admin.userId,
      config: { ...source.config, read_only: true, query_timeout_seconds: 10, max_rows: 1000 },
    });
    expect(res.body).not.toHaveProperty("credentialsEncrypted");
    expect(res.body).not.toHaveProperty("credentials");
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    // Stored sealed: the row holds v1.<kid>.<iv>.<ct>, not the password; the audit row has no credentials.
    const [stored, audit] = await runAs(db, service, [
      db.select({ text: sql<string>`convert_from(${dataConnectors.credentialsEncrypted}, 'UTF8')` }).from(dataConnectors).where(eq(dataConnectors.id, res.body.id)),
      db.select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.resourceId, res.body.id))),
    ] as const);
    expect(stored[0]!.text).toMatch(/^v1\.k2026\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(stored[0]!.text).not.toContain(source.credentials.password);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "create", resourceType: "data_connector", actorId: admin.userId });
    expect(audit[0]!.afterState).not.toHaveProperty("credentials_encrypted");
    expect(JSON.stringify(audit[0])).not.toContain(source.credentials.password);
  });

  it("lists by name with filters and pages, reads one, in one round trip each; other tenants see nothing", async () => {
    const { admin } = await seedTenant();
    const other = await seedTenant();
    const names = ["a-rest", "b-rest", "c-pg"].map((n) => `${n}-${crypto.randomUUID()}`);
    for (const n of names.slice(0, 2)) expect((await call("POST", BASE, { token: admin.bearer, body: { name: n, type: "rest_api", config: restConfig() } })).status).toBe(201);
    const pg = await call("POST", BASE, { token: admin.bearer, body: { name: names[2], type: "postgres", ...pgSource() } });

    const page1 = await call("GET", `${BASE}?limit=2`, { token: admin.bearer });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((c: { name: string }) => c.name)).toEqual(names.slice(0, 2));
    expect(page1.body.items[0]).toMatchObject({ hasCredentials: false, credentialsKeyId: null });
    expect(await roundTrips(page1.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    const page2 = await call("GET", `${BASE}?limit=2&cursor=${page1.body.nextCursor}`, { token: admin.bearer });
    expect(page2.body).toMatchObject({ items: [{ name: names[2], hasCredentials: true, credentialsKeyId: "k2026" }], nextCursor: null });
    // A checked status (not due again for a while, so no cron run changes it meanwhile).
    await runAs(db, service, [db.update(dataConnectors).set({ status: "error", lastHealthCheckAt: new Date() }).where(eq(dataConnectors.id, pg.body.id))] as const);
    const onlyPg = await call("GET", `${BASE}?type=postgres&status=error`, { token: admin.bearer });
    expect(onlyPg.body.items.map((c: { id: string }) => c.id)).toEqual([pg.body.id]);
    expect((await call("GET", `${BASE}?type=graphql`, { token: admin.bearer })).body.items).toEqual([]);

    const one = await call("GET", `${BASE}/${pg.body.id}`, { token: admin.bearer });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: pg.body.id, name: names[2], config: pg.body.config, status: "error", hasCredentials: true });
    expect(await roundTrips(one.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    expect((await call("GET", BASE, { token: other.admin.bearer })).body.items).toEqual([]);
    expectProblem(await call("GET", `${BASE}/${pg.body.id}`, { token: other.admin.bearer }), 404, "not_found");
  });

  it("updates name, config and credentials: a new config resets the health status; type must be named and cannot change", async () => {
    const { tenantId, admin } = await seedTenant();
    const created = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "postgres", ...pgSource() } });
    const id = created.body.id;
    // A health check happened.
    await runAs(db, service, [
      db.update(dataConnectors).set({ status: "active", lastHealthStatus: "ok (3 ms)", lastHealthCheckAt: new Date() }).where(eq(dataConnectors.id, id)),
    ] as const);

    const renamed = await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { name: "renamed" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: "renamed", status: "active", lastHealthStatus: "ok (3 ms)", hasCredentials: true, credentialsKeyId: "k2026" });
    expect(await roundTrips(renamed.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });

    const reconfigured = await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { type: "postgres", config: { ...pgSource().config, max_rows: 5 } } });
    expect(reconfigured.status).toBe(200);
    expect(reconfigured.body).toMatchObject({ status: "inactive", lastHealthStatus: null, lastHealthCheckAt: null, hasCredentials: true, config: { max_rows: 5 } });

    expectProblem(await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { config: { host: "x" } } }), 422, "validation_failed");
    const mismatch = await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { type: "graphql", config: { endpoint: "http://127.0.0.1:1/graphql" } } });
    expectProblem(mismatch, 409, "connector_type_mismatch");
    expect(mismatch.body.currentType).toBe("postgres");

    const second = await call("POST", BASE, { token: admin.bearer, body: { name: "taken", type: "rest_api", config: restConfig() } });
    expectProblem(await call("PATCH", `${BASE}/${id}`, { token: admin.bearer, body: { name: "taken" } }), 409, "connector_name_taken");
    expectProblem(await call("POST", BASE, { token: admin.bearer, body: { name: "taken", type: "rest_api", config: restConfig() } }), 409, "connector_name_taken");
    expectProblem(await call("PATCH", `${BASE}/${crypto.randomUUID()}`, { token: admin.bearer, body: { name: "x" } }), 404, "not_found");

    const removed = await call("PATCH", `${BASE}/${second.body.id}`, { token: admin.bearer, body: { type: "rest_api", credentials: { bearer_token: secret("rest-token") } } });
    expect(removed.body).toMatchObject({ hasCredentials: true, credentialsKeyId: "k2026" });
    const cleared = await call("PATCH", `${BASE}/${second.body.id}`, { token: admin.bearer, body: { type: "rest_api", credentials: null } });
    expect(cleared.body).toMatchObject({ hasCredentials: false, credentialsKeyId: null, status: "inactive" });

    const [audit] = await runAs(db, as(tenantId, admin.userId), [
      db.select({ action: auditLogs.action, diff: auditLogs.diff }).from(auditLogs).where(and(eq(auditLogs.resourceId, id), eq(auditLogs.action, "update"))).orderBy(auditLogs.createdAt),
    ] as const);
    expect(audit.length).toBe(2);
    expect(JSON.stringify(audit[0]!.diff)).toContain("/name");
  });

  it("deletes in one round trip with an audit row; a second delete is a 404", async () => {
    const { tenantId, admin } = await seedTenant();
    const created = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "graphql", config: { endpoint: "http://127.0.0.1:1/graphql" } } });
    const res = await call("DELETE", `${BASE}/${created.body.id}`, { token: admin.bearer });
    expect(res.status).toBe(204);
    expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
    expectProblem(await call("DELETE", `${BASE}/${created.body.id}`, { token: admin.bearer }), 404, "not_found");
    expectProblem(await call("GET", `${BASE}/${created.body.id}`, { token: admin.bearer }), 404, "not_found");
    const [audit] = await runAs(db, as(tenantId, admin.userId), [
      db.select({ action: auditLogs.action }).from(auditLogs).where(eq(auditLogs.resourceId, created.body.id)).orderBy(auditLogs.createdAt),
    ] as const);
    expect(audit.map((a) => a.action)).toEqual(["create", "delete"]);
  });
});

describe("factory connectors: permissions", () => {
  it("needs connector:* permissions: roles without them are refused before anything is read or written", async () => {
    const { tenantId, admin } = await seedTenant();
    const created = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "rest_api", config: restConfig() } });
    const reader = await seedUser(tenantId, "viewer", { permissions: ["connector:read"] });
    const body = { name: name(), type: "rest_api", config: restConfig() };
    for (const role of ["viewer", "operator", "approver"] as const) {
      const user = await seedUser(tenantId, role);
      for (const [method, path, payload] of [
        ["POST", BASE, body],
        ["GET", BASE, undefined],
        ["GET", `${BASE}/${created.body.id}`, undefined],
        ["PATCH", `${BASE}/${created.body.id}`, { name: "x" }],
        ["DELETE", `${BASE}/${created.body.id}`, undefined],
        ["POST", `${BASE}/${created.body.id}/query`, { query: "/lines/L01/rows" }],
      ] as const) {
        const res = await call(method, path, { token: user.bearer, body: payload });
        expectProblem(res, 403, "permission_missing");
        expect(res.body.permission).toMatch(/^connector:(create|read|update|delete|execute)$/);
        expect(await roundTrips(res.requestId)).toEqual({ neon: 1, upstash: expect.any(Number) });
      }
    }
    expect((await call("GET", `${BASE}/${created.body.id}`, { token: reader.bearer })).status).toBe(200);
    expectProblem(await call("DELETE", `${BASE}/${created.body.id}`, { token: reader.bearer }), 403, "permission_missing");
    // Row-level security says the same: the reader's own statements cannot write connectors.
    const [changed] = await runAs(db, as(tenantId, reader.userId), [db.update(dataConnectors).set({ name: "forged" }).where(eq(dataConnectors.id, created.body.id)).returning()] as const);
    expect(changed).toEqual([]);
    await expect(runAs(db, as(tenantId, reader.userId), [db.insert(dataConnectors).values({ tenantId, name: "forged", type: "rest_api", config: {} })] as const)).rejects.toMatchObject({
      code: "42501",
    });
  });
});

describe("factory connectors: what a Worker cannot reach, and bad config", () => {
  it("refuses mssql, oracle and kafka with a 422 naming the way round, writing nothing", async () => {
    const { tenantId, admin } = await seedTenant();
    for (const type of ["mssql", "oracle", "kafka"]) {
      const res = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type, config: { host: "db.example.com", port: 1433, database: "mes" } } });
      expectProblem(res, 422, "connector_type_unreachable");
      expect(res.body.type).toBe(type);
      expect(res.body.detail).toMatch(/HTTP gateway/);
      expect(res.body.errors).toEqual([{ path: "json.type", message: res.body.detail }]);
      expect(await roundTrips(res.requestId)).toEqual({ neon: 0, upstash: expect.any(Number) });
    }
    expect((await call("GET", `${BASE}?limit=10`, { token: admin.bearer })).body.items).toEqual([]);
    expect(tenantId).toBeTruthy();
  });

  it("refuses a Unix socket (a local process a Worker cannot reach) and bad config fields, naming them", async () => {
    const { admin } = await seedTenant();
    const socket = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "postgres", ...pgSource({ host: "/var/run/postgresql" }) } });
    expectProblem(socket, 422, "validation_failed");
    expect(socket.body.errors).toEqual([{ path: "json.config.host", message: expect.stringMatching(/Unix socket cannot be reached from a Worker/) }]);

    const cases: [Record<string, unknown>, string][] = [
      [{ type: "postgres", ...pgSource({ read_only: false }) }, "json.config.read_only"],
      [{ type: "postgres", ...pgSource({ port: 70000 }) }, "json.config.port"],
      [{ type: "postgres", ...pgSource({ query_timeout_seconds: 600 }) }, "json.config.query_timeout_seconds"],
      [{ type: "postgres", ...pgSource({ max_rows: 1_000_000 }) }, "json.config.max_rows"],
      [{ type: "postgres", ...pgSource({ surprise: 1 }) }, "json.config"],
      [{ type: "postgres", config: pgSource().config }, "json.credentials"],
      [{ type: "postgres", config: pgSource().config, credentials: { username: "u" } }, "json.credentials.password"],
      [{ type: "rest_api", config: restConfig({ base_url: "ftp://files.example.com" }) }, "json.config.base_url"],
      [{ type: "rest_api", config: restConfig({ rows_path: "data[0]" }) }, "json.config.rows_path"],
      // A health check must stay under base_url: not another host, not up out of it.
      [{ type: "rest_api", config: restConfig({ health_path: "//elsewhere.example/health" }) }, "json.config.health_path"],
      [{ type: "rest_api", config: restConfig({ health_path: "/api/%2e%2e/%2E%2E/admin" }) }, "json.config.health_path"],
      [{ type: "rest_api", config: restConfig({ health_path: "/ok?next=//elsewhere" }) }, "json.config.health_path"],
      [{ type: "rest_api", config: restConfig(), credentials: {} }, "json.credentials"],
      [{ type: "graphql", config: {} }, "json.config.endpoint"],
      [{ type: "graphql", engine: "hasura", config: { endpoint: "http://127.0.0.1:1/graphql" } }, "json.engine"],
    ];
    for (const [body, path] of cases) {
      const res = await call("POST", BASE, { token: admin.bearer, body: { name: name(), ...body } });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
    expect((await call("GET", BASE, { token: admin.bearer })).body.items).toEqual([]);
  });

  it("answers 503 naming the variable when no sealing key is configured, and writes nothing", async () => {
    const { admin } = await seedTenant();
    const res = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "postgres", ...pgSource() }, env: { FACTORY_CONNECTOR_KEYS: undefined } });
    expectProblem(res, 503, "connector_keys_missing");
    expect(res.body.detail).toContain("FACTORY_CONNECTOR_KEYS");
    const bad = await call("GET", BASE, { token: admin.bearer, env: { FACTORY_CONNECTOR_KEYS: "k1:short" } });
    expectProblem(bad, 503, "config_invalid");
    expect(bad.body.detail).toContain("FACTORY_CONNECTOR_KEYS (key k1 must be 32 bytes");
    expect((await call("GET", BASE, { token: admin.bearer })).body.items).toEqual([]);
  });
});

describe("factory connectors in /openapi.json", () => {
  it("shows each route's permission", async () => {
    const doc = await call("GET", "/openapi.json");
    const permissions = Object.fromEntries(
      Object.entries(doc.body.paths as Record<string, Record<string, { "x-permission"?: string }>>)
        .filter(([path]) => path.startsWith(BASE))
        .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op["x-permission"]])),
    );
    expect(permissions).toEqual({
      [`POST ${BASE}`]: "connector:create",
      [`GET ${BASE}`]: "connector:read",
      [`GET ${BASE}/{id}`]: "connector:read",
      [`PATCH ${BASE}/{id}`]: "connector:update",
      [`DELETE ${BASE}/{id}`]: "connector:delete",
      [`POST ${BASE}/{id}/query`]: "connector:execute",
    });
  });
});

describe("factory connectors: review of odd patches and misplaced secrets", () => {
  it("a patch naming only the type (which cannot change) is a 422 naming the body, not a 500; nothing changes", async () => {
    const { admin } = await seedTenant();
    const created = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "postgres", ...pgSource() } });
    const res = await call("PATCH", `${BASE}/${created.body.id}`, { token: admin.bearer, body: { type: "postgres" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ path: "json", message: expect.stringMatching(/type alone changes nothing/) }]);
    expect((await call("GET", `${BASE}/${created.body.id}`, { token: admin.bearer })).body.updatedAt).toBe(created.body.updatedAt);
  });

  it("refuses a credential in config (a URL's user name or password, an Authorization-like header): config is shown by every read", async () => {
    const { admin } = await seedTenant();
    const password = secret("url-password");
    const token = secret("config-token");
    const cases: [Record<string, unknown>, string][] = [
      [{ type: "rest_api", config: restConfig({ base_url: `https://user:${password}@example.com/api` }) }, "json.config.base_url"],
      [{ type: "graphql", config: { endpoint: `https://user:${password}@example.com/graphql` } }, "json.config.endpoint"],
      [{ type: "rest_api", config: restConfig({ headers: { Authorization: `Bearer ${token}` } }) }, "json.config.headers.Authorization"],
      [{ type: "rest_api", config: restConfig({ headers: { "X-Api-Key": token } }) }, "json.config.headers.X-Api-Key"],
      [{ type: "graphql", config: { endpoint: "http://127.0.0.1:1/graphql", headers: { Cookie: `sid=${token}` } } }, "json.config.headers.Cookie"],
    ];
    for (const [body, path] of cases) {
      const res = await call("POST", BASE, { token: admin.bearer, body: { name: name(), ...body } });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toEqual([path]);
    }
    // The same through PATCH; a plain header still passes, and a token belongs in credentials.
    const rest = await call("POST", BASE, { token: admin.bearer, body: { name: name(), type: "rest_api", config: restConfig({ headers: { "X-Plant": "P1" } }) } });
    expect(rest.status).toBe(201);
    const patched = await call("PATCH", `${BASE}/${rest.body.id}`, { token: admin.bearer, body: { type: "rest_api", config: restConfig({ headers: { authorization: `Bearer ${token}` } }) } });
    expectProblem(patched, 422, "validation_failed");
    expect(patched.body.errors[0].path).toBe("json.config.headers.authorization");
    const sealed = await call("PATCH", `${BASE}/${rest.body.id}`, { token: admin.bearer, body: { type: "rest_api", credentials: { headers: { Authorization: `Bearer ${token}` } } } });
    expect(sealed.status).toBe(200);
    expect((await call("GET", BASE, { token: admin.bearer })).body.items).toHaveLength(1);
  });
});
