import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/platform/middleware";
import { call, DEAD_ENDPOINT, expectProblem, testEnv, token } from "./helpers";

describe("platform routes and errors", () => {
  it("GET /health answers without touching anything", async () => {
    const res = await call("GET", "/health", { env: { DB_URL: undefined, REDIS_URL: undefined } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /ready checks Postgres and Redis and names the one that failed", async () => {
    const ok = await call("GET", "/ready");
    expect(ok.status).toBe(200);
    expect(ok.body.checks).toEqual({ postgres: "ok", redis: "ok" });

    const pgDown = await call("GET", "/ready", { env: { NEON_FETCH_ENDPOINT: `${DEAD_ENDPOINT}/sql` } });
    expectProblem(pgDown, 503, "dependency_unavailable");
    expect(pgDown.body.failed).toEqual(["postgres"]);

    const redisDown = await call("GET", "/ready", { env: { REDIS_URL: `${DEAD_ENDPOINT}/ready-${crypto.randomUUID()}` } });
    expectProblem(redisDown, 503, "dependency_unavailable");
    expect(redisDown.body.failed).toEqual(["redis"]);
  });

  it("keeps a sane caller X-Request-Id and replaces an insane one", async () => {
    const kept = await call("GET", "/health", { headers: { "X-Request-Id": "caller-id-1234" } });
    expect(kept.headers.get("X-Request-Id")).toBe("caller-id-1234");
    const replaced = await call("GET", "/health", { headers: { "X-Request-Id": "bad id\u0001<script>" } });
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers unknown routes with 404 and wrong methods with 405 and Allow, as problems", async () => {
    const bearer = await token();
    expectProblem(await call("GET", "/nope"), 404, "route_not_found");
    const wrongMethod = await call("DELETE", "/api/v1/exam/profile", { token: bearer });
    expectProblem(wrongMethod, 405, "method_not_allowed");
    expect(wrongMethod.headers.get("Allow")).toBe("GET, PUT");
  });

  it("refuses bodies over the cap with 413", async () => {
    const res = await call("PUT", "/api/v1/exam/profile", {
      token: await token(),
      rawBody: JSON.stringify({ level: "x".repeat(MAX_BODY_BYTES + 1) }),
      headers: { "Content-Type": "application/json" },
    });
    expectProblem(res, 413, "body_too_large");
  });

  it("names a missing or malformed variable without echoing its value", async () => {
    const secret = "postgres://app:s3cr3t-value@db.example/x y";
    const res = await call("GET", "/api/v1/me", { token: await token(), env: { DB_URL: secret, RUNTIME_MEM_LIMIT_MB: undefined } });
    expectProblem(res, 503, "config_invalid");
    expect(res.body.detail).toContain("DB_URL");
    expect(res.body.detail).toContain("RUNTIME_MEM_LIMIT_MB");
    expect(JSON.stringify(res.body)).not.toContain("s3cr3t");
  });

  it("describes every route in /openapi.json and serves the reference page at /docs", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(["/api/v1/exam/profile", "/api/v1/me"]));
    expect(doc.body.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const docs = await call("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("Content-Type")).toContain("text/html");
    expect(docs.body).toContain("/openapi.json");
  });
});

describe("unexpected errors", () => {
  it("become a 500 problem carrying the request id and no internals", async () => {
    const { Hono } = await import("hono");
    const { handleError } = await import("../../src/platform/errors");
    const { requestId } = await import("../../src/platform/middleware");
    const app = new Hono().use(requestId() as never).onError(handleError);
    app.get("/boom", () => {
      throw new Error("select * from secret_table failed at line 3");
    });
    const res = await app.request("/boom", { headers: { "X-Request-Id": "boom-request-1" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ status: 500, code: "internal_error", requestId: "boom-request-1" });
    expect(JSON.stringify(body)).not.toMatch(/secret_table|at line|stack/);
  });
});
