import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import type { Profile } from "../../src/exam/profile.routes";
import { call, DEAD_ENDPOINT, expectProblem, roundTrips, token } from "./helpers";

const profile = { level: "ASSOCIATE", examDate: "2027-03-14", targetType: "HIGH_SCORE" };

describe("exam profile", () => {
  it("is created, read, cached, updated and invalidated, each within its round-trip budget", async () => {
    const sub = crypto.randomUUID();
    const bearer = await token({ sub });

    const missing = await call("GET", "/api/v1/exam/profile", { token: bearer });
    expectProblem(missing, 404, "not_found");

    const created = await call<z.infer<typeof Profile>>("PUT", "/api/v1/exam/profile", { token: bearer, body: profile });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...profile, userId: sub });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await roundTrips(created.requestId)).neon).toBe(1);

    const miss = await call("GET", "/api/v1/exam/profile", { token: bearer });
    expect(miss.status).toBe(200);
    expect(miss.body).toEqual(created.body);
    expect((await roundTrips(miss.requestId)).neon).toBe(1);

    const hit = await call("GET", "/api/v1/exam/profile", { token: bearer });
    expect(hit.body).toEqual(created.body);
    const hitTrips = await roundTrips(hit.requestId);
    expect(hitTrips.neon).toBe(0);
    expect(hitTrips.upstash).toBeGreaterThanOrEqual(1);

    const updated = await call<z.infer<typeof Profile>>("PUT", "/api/v1/exam/profile", { token: bearer, body: { ...profile, level: "PROFESSIONAL" } });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.level).toBe("PROFESSIONAL");
    expect((await roundTrips(updated.requestId)).neon).toBe(1);

    const afterUpdate = await call("GET", "/api/v1/exam/profile", { token: bearer });
    expect(afterUpdate.body.level).toBe("PROFESSIONAL");
    expect((await roundTrips(afterUpdate.requestId)).neon).toBe(1);
  });

  it("is never visible to another user", async () => {
    const owner = await token();
    await call("PUT", "/api/v1/exam/profile", { token: owner, body: profile });
    const other = await token();
    expectProblem(await call("GET", "/api/v1/exam/profile", { token: other }), 404, "not_found");
    const own = await call("PUT", "/api/v1/exam/profile", { token: other, body: { ...profile, level: "BASIC" } });
    expect(own.status).toBe(201);
    expect((await call("GET", "/api/v1/exam/profile", { token: owner })).body.level).toBe("ASSOCIATE");
  });

  it("rejects invalid bodies with field errors and writes nothing", async () => {
    const bearer = await token();
    const res = await call("PUT", "/api/v1/exam/profile", {
      token: bearer,
      body: { level: "EXPERT", examDate: "2027-02-30", targetType: "PASS_FIRST", extra: 1 },
    });
    expectProblem(res, 422, "validation_failed");
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["json.level", "json.examDate"]));
    expect(res.body.errors.length).toBeGreaterThanOrEqual(3);
    expect((await roundTrips(res.requestId)).neon).toBe(0);

    expectProblem(await call("PUT", "/api/v1/exam/profile", { token: bearer, body: {} }), 422, "validation_failed");
    expectProblem(await call("GET", "/api/v1/exam/profile", { token: bearer }), 404, "not_found");
  });

  it("answers malformed JSON with 400, non-JSON with 415, an empty body with 422", async () => {
    const bearer = await token();
    const malformed = await call("PUT", "/api/v1/exam/profile", { token: bearer, rawBody: "{level:", headers: { "Content-Type": "application/json" } });
    expectProblem(malformed, 400, "malformed_request");
    const text = await call("PUT", "/api/v1/exam/profile", { token: bearer, rawBody: "level=BASIC", headers: { "Content-Type": "text/plain" } });
    expectProblem(text, 415, "unsupported_media_type");
    expectProblem(await call("PUT", "/api/v1/exam/profile", { token: bearer }), 422, "validation_failed");
  });

  it("is still served from Postgres when Redis is down", async () => {
    const bearer = await token();
    const env = { REDIS_URL: `${DEAD_ENDPOINT}/cache-down-${crypto.randomUUID()}` };
    expect((await call("PUT", "/api/v1/exam/profile", { token: bearer, body: profile, env })).status).toBe(201);
    const res = await call("GET", "/api/v1/exam/profile", { token: bearer, env });
    expect(res.status).toBe(200);
    expect(res.body.level).toBe("ASSOCIATE");
  });
});
