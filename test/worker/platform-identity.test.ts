import { describe, expect, it } from "vitest";
import { USER_ID_NAMESPACE, uuidv5 } from "../../src/platform/user-id";
import { call, expectProblem, testEnv, token } from "./helpers";

const issuer = testEnv.API_JWT_ISSUER as string;
const me = (bearer: string, scheme = "Bearer") => call("GET", "/api/v1/me", { headers: { Authorization: `${scheme} ${bearer}` } });

/**
 * Subjects of the shapes identity providers issue, with the user ids computed outside this code
 * base: python3 -c "import uuid; print(uuid.uuid5(uuid.UUID('59b4a915-5dc6-446a-8508-7540df9cb0c8'),
 * 'https://auth.edge-api.dev/\n' + sub))".
 */
const PROVIDER_SUBJECTS = [
  { provider: "Auth0", sub: "auth0|64f1c0ffee", userId: "8ec1fbd9-17b8-51ac-89af-bff89dfcf799" },
  { provider: "Clerk", sub: "user_2NNEqL2nrIRdJ194ndJqAHwEfxC", userId: "5231f41c-660f-5774-bd63-f3df60d86327" },
  { provider: "Firebase", sub: "kZ3v9Qx2LmN8pR4tW7yB1cD5eF6g", userId: "d1035942-4209-5cf6-b031-43133f1eefa7" },
  { provider: "Google", sub: "109876543210987654321", userId: "30ca1df1-0e15-5493-b13e-04bdd9900096" },
];

describe("user ids from any identity provider", () => {
  it("computes UUIDv5 as RFC 9562 does (its DNS namespace vector)", async () => {
    expect(await uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
    expect(USER_ID_NAMESPACE).toBe("59b4a915-5dc6-446a-8508-7540df9cb0c8");
  });

  it.each(PROVIDER_SUBJECTS)("maps a $provider subject to its UUIDv5 and shows both on /me", async ({ sub, userId }) => {
    expect(issuer).toBe("https://auth.edge-api.dev/");
    const res = await me(await token({ sub, roles: ["learner"] }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId, subject: sub, issuer, tenantId: null, roles: ["learner"], permissions: [] });
  });

  it("keeps a UUID subject as the user id, lowercased", async () => {
    const sub = crypto.randomUUID();
    const res = await me(await token({ sub: sub.toUpperCase() }));
    expect(res.body).toMatchObject({ userId: sub, subject: sub.toUpperCase() });
  });

  it("gives the same provider user the same data across tokens, and another user none of it", async () => {
    const sub = `auth0|${crypto.randomUUID().replace(/-/g, "")}`;
    const profile = { level: "BASIC", examDate: "2027-05-01", targetType: "PASS_FIRST" };
    const created = await call("PUT", "/api/v1/exam/profile", { token: await token({ sub }), body: profile });
    expect(created.status).toBe(201);
    const { userId } = (await me(await token({ sub }))).body;
    expect(created.body.userId).toBe(userId);
    const again = await call("GET", "/api/v1/exam/profile", { token: await token({ sub }) });
    expect(again.body).toMatchObject({ ...profile, id: created.body.id, userId });
    expectProblem(await call("GET", "/api/v1/exam/profile", { token: await token({ sub: `${sub}x` }) }), 404, "not_found");
  });

  it("refuses an empty, oversized or unprintable subject with 401 naming sub", async () => {
    for (const sub of ["", "a".repeat(256), "auth0|a\u0000b", "line\nbreak", "tab\there", "del\u007f", "c1\u0085", "lone\ud800"]) {
      const res = await me(await token({ sub }));
      expectProblem(res, 401, "invalid_token");
      expect(res.body.detail, JSON.stringify(sub)).toMatch(/^sub: /);
    }
    expect((await me(await token({ sub: "a".repeat(255) }))).status).toBe(200);
  });
});

describe("the Authorization header", () => {
  it("takes the scheme name in any case (RFC 9110 §11.1)", async () => {
    const bearer = await token();
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) expect((await me(bearer, scheme)).status, scheme).toBe(200);
    expectProblem(await me(bearer, "Basic"), 401, "invalid_token");
  });
});

describe("tenant_id", () => {
  it("accepts the documented grammar", async () => {
    for (const tenant of ["acme", "42", "org_2NNEqL2nrIRdJ194", "school-7.north:a@b|c", "a".repeat(128)]) {
      const res = await me(await token({ tenant_id: tenant }));
      expect(res.body.tenantId, tenant).toBe(tenant);
    }
  });

  it("refuses anything else with 401 naming tenant_id, never a 500", async () => {
    for (const tenant of ["", "a\u0000b", "a\nb", " acme", "acme ", "-acme", "a".repeat(129), "аcme", "ａcme", "ac\u200bme", "a,b", "a'b"]) {
      const res = await call("GET", "/api/v1/exam/profile", { token: await token({ tenant_id: tenant }) });
      expectProblem(res, 401, "invalid_token");
      expect(res.body.detail, JSON.stringify(tenant)).toMatch(/^tenant_id: /);
    }
  });
});
