import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, expectProblem, testEnv, token } from "./helpers";

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const now = () => Math.floor(Date.now() / 1000);

async function me(bearer: string | undefined, env?: Record<string, string | undefined>) {
  return call("GET", "/api/v1/me", { headers: bearer === undefined ? {} : { Authorization: bearer }, env });
}

function expectInvalidToken(result: Awaited<ReturnType<typeof me>>) {
  expectProblem(result, 401, "invalid_token");
  expect(result.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="edge-api", error="invalid_token"/);
}

describe("JWT authentication", () => {
  it("accepts a valid token and exposes its claims as the principal", async () => {
    const sub = crypto.randomUUID();
    const res = await me(`Bearer ${await token({ sub, tenant_id: "t1", roles: ["admin"], scope: "exam:read exam:write" })}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId: sub,
      subject: sub,
      issuer: testEnv.API_JWT_ISSUER,
      tenantId: "t1",
      roles: ["admin"],
      permissions: ["exam:read", "exam:write"],
    });
  });

  it("requires a token", async () => {
    const res = await me(undefined);
    expectProblem(res, 401, "unauthenticated");
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-api"');
  });

  it("rejects an expired token", async () => {
    expectInvalidToken(await me(`Bearer ${await token({}, { expiresIn: now() - 120 })}`));
  });

  it("accepts a token expired within the clock tolerance", async () => {
    expect((await me(`Bearer ${await token({}, { expiresIn: now() - 10 })}`)).status).toBe(200);
  });

  it("rejects a token that is not yet valid", async () => {
    expectInvalidToken(await me(`Bearer ${await token({ nbf: now() + 600 })}`));
  });

  it("rejects a wrong issuer and a wrong audience", async () => {
    expectInvalidToken(await me(`Bearer ${await token({ iss: "https://evil.example/" })}`));
    expectInvalidToken(await me(`Bearer ${await token({ aud: "someone-else" })}`));
  });

  it("accepts an audience array that contains ours", async () => {
    expect((await me(`Bearer ${await token({ aud: ["other", testEnv.API_JWT_AUDIENCE as string] })}`)).status).toBe(200);
  });

  it("rejects tokens without exp or sub", async () => {
    expectInvalidToken(await me(`Bearer ${await token({}, { omit: ["exp"] })}`));
    expectInvalidToken(await me(`Bearer ${await token({}, { omit: ["sub"] })}`));
  });

  it('rejects alg "none"', async () => {
    const payload = b64url(JSON.stringify({ sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE, exp: now() + 300 }));
    expectInvalidToken(await me(`Bearer ${b64url('{"alg":"none","typ":"JWT"}')}.${payload}.`));
  });

  it("rejects HS256 signed with the public key text (key confusion)", async () => {
    const secret = new TextEncoder().encode(testEnv.API_JWT_PUBLIC_KEY);
    const forged = await new SignJWT({ sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(secret);
    expectInvalidToken(await me(`Bearer ${forged}`));
  });

  it("rejects an RS512 token for the RS256 allow-list", async () => {
    const key = await importPKCS8(testEnv.TEST_RSA_PRIVATE_KEY as string, "RS512");
    const rs512 = await new SignJWT({ sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE })
      .setProtectedHeader({ alg: "RS512" })
      .setExpirationTime("5m")
      .sign(key);
    expectInvalidToken(await me(`Bearer ${rs512}`));
  });

  it("rejects a tampered payload", async () => {
    const [header, , signature] = (await token()).split(".");
    const payload = b64url(JSON.stringify({ sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE, exp: now() + 300, roles: ["admin"] }));
    expectInvalidToken(await me(`Bearer ${header}.${payload}.${signature}`));
  });

  it("rejects malformed segments and a non-JSON header without a 500", async () => {
    const valid = (await token()).split(".");
    for (const bad of ["abc", "abc.def", "a.b.c.d", "..", `${valid[0]}.!!!.${valid[2]}`, `${b64url("not json")}.${valid[1]}.${valid[2]}`, `${b64url("[]")}.${valid[1]}.${valid[2]}`]) {
      const res = await me(`Bearer ${bad}`);
      expect(res.status, bad).toBe(401);
      expect(res.body.code, bad).toBe("invalid_token");
    }
    expectInvalidToken(await me(`Basic ${btoa("user:pass")}`));
  });

  it("refuses the service role of scheduled jobs in any token, on every system", async () => {
    for (const path of ["/api/v1/me", "/api/v1/exam/profile"]) {
      expectProblem(await call("GET", path, { token: await token({ roles: ["service"] }) }), 403, "service_role_reserved");
    }
  });

  it("rejects an oversized Authorization header", async () => {
    expectInvalidToken(await me(`Bearer ${"a".repeat(9000)}`));
  });
});

describe("JWT authentication with a JWKS", () => {
  async function keyPair(alg: "RS256" | "ES256", kid: string) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
  }
  const publish = (...keys: { jwk: object }[]) =>
    fetch(testEnv.TEST_JWKS_URL as string, { method: "PUT", body: JSON.stringify({ keys: keys.map((k) => k.jwk) }) });
  const signWith = (k: Awaited<ReturnType<typeof keyPair>>) =>
    new SignJWT({ sub: crypto.randomUUID(), iss: testEnv.API_JWT_ISSUER, aud: testEnv.API_JWT_AUDIENCE })
      .setProtectedHeader({ alg: k.alg, kid: k.kid })
      .setExpirationTime("5m")
      .sign(k.privateKey);
  // A URL of its own per test keeps jose's per-URL cache of one test from serving another.
  const jwksEnv = () => ({ API_JWT_JWKS_URL: `${testEnv.TEST_JWKS_URL}?t=${crypto.randomUUID()}` });

  it("verifies RS256 and ES256 tokens by kid and rejects an unknown kid", async () => {
    const rsa = await keyPair("RS256", `rsa-${crypto.randomUUID()}`);
    const ec = await keyPair("ES256", `ec-${crypto.randomUUID()}`);
    await publish(rsa, ec);
    const env = jwksEnv();
    expect((await me(`Bearer ${await signWith(rsa)}`, env)).status).toBe(200);
    expect((await me(`Bearer ${await signWith(ec)}`, env)).status).toBe(200);
    const stranger = await keyPair("RS256", "unknown-kid");
    expectInvalidToken(await me(`Bearer ${await signWith(stranger)}`, env));
  });

  it("follows a key rotation: the new key is fetched, the retired one stops working", async () => {
    const oldKey = await keyPair("RS256", `old-${crypto.randomUUID()}`);
    const newKey = await keyPair("RS256", `new-${crypto.randomUUID()}`);
    await publish(oldKey);
    const env = jwksEnv();
    expect((await me(`Bearer ${await signWith(oldKey)}`, env)).status).toBe(200);
    await publish(newKey);
    expect((await me(`Bearer ${await signWith(newKey)}`, env)).status).toBe(200);
    expectInvalidToken(await me(`Bearer ${await signWith(oldKey)}`, env));
  });

  it("answers 503, not 401, when the JWKS cannot be fetched", async () => {
    const k = await keyPair("RS256", "any");
    const res = await me(`Bearer ${await signWith(k)}`, { API_JWT_JWKS_URL: "http://127.0.0.1:9/jwks.json" });
    expectProblem(res, 503, "auth_keys_unavailable");
  });
});
