import { describe, expect, it } from "vitest";
import { call, expectProblem, roundTrips, token } from "./helpers";

/**
 * The common suite every route meets, walked from /openapi.json so a new route is covered without
 * anyone listing it: each operation is documented with its summary and the bearer scheme, refuses
 * a missing, malformed, expired, foreign-audience or foreign-issuer token with a 401 problem
 * before touching Postgres, and refuses the reserved `service` role with a 403. Which other roles
 * a route refuses is platform-routes-roles.test.ts; what bad input does is platform-routes-fuzz.
 */
interface Operation {
  method: string;
  path: string;
  summary?: string;
  tags?: string[];
  /** A route that authenticates by its own signature instead (SystemParts.signedRoutes): `security: []` and its scheme. */
  signed?: string;
  security?: unknown;
}

async function operations(): Promise<Operation[]> {
  const doc = (await call("GET", "/openapi.json")).body as {
    paths: Record<string, Record<string, { summary?: string; tags?: string[]; security?: unknown; "x-authentication"?: string }>>;
    security?: unknown;
  };
  expect(doc.security).toEqual([{ bearerAuth: [] }]);
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, summary: op.summary, tags: op.tags, signed: op["x-authentication"], security: op.security })),
  );
}

/** A concrete path: every parameter filled with a value its schema accepts (a UUID fits the id params; 1 the numeric ones). */
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => (/no$|^n$/i.test(name) ? "1" : crypto.randomUUID()));

/**
 * The routes that leave the bearer check on purpose (SystemParts.signedRoutes), each verifying a
 * Standard Webhooks signature of its own: a new one must be added here, knowingly.
 */
const SIGNED_ROUTES = ["POST /api/v1/factory/hooks/workflows/{id}", "POST /api/v1/factory/learning/training-jobs/callback"];

const BAD_TOKENS: [string, () => Promise<string>][] = [
  ["malformed", async () => "not-a-jwt"],
  ["expired", () => token({}, { expiresIn: Math.floor(Date.now() / 1000) - 3600 })],
  ["another audience", () => token({ aud: "someone-else" })],
  ["another issuer", () => token({ iss: "https://issuer.example/" })],
];

describe("every route of /openapi.json", () => {
  it("is documented and authenticates the caller before any work", async () => {
    const ops = await operations();
    console.log(`common route suite: ${ops.length} operations`);
    expect(ops.filter((op) => op.signed).map((op) => `${op.method} ${op.path}`).sort()).toEqual(SIGNED_ROUTES);
    expect(ops.length).toBeGreaterThan(50);
    const bad = await Promise.all(BAD_TOKENS.map(async ([name, make]) => [name, await make()] as const));
    const service = await token({ roles: ["service"] });
    for (const op of ops) {
      expect(op.summary, `${op.method} ${op.path} has a summary`).toBeTruthy();
      expect(op.tags?.length, `${op.method} ${op.path} has a tag`).toBeGreaterThan(0);
      const path = concrete(op.path);

      if (op.signed) {
        // No bearer check here: the route's own signature check refuses an unsigned call, token or not, before Postgres.
        expect(op.signed, `${op.method} ${op.path}`).toBe("standard-webhooks");
        expect(op.security).toEqual([]);
        for (const bearer of [undefined, service, bad[0]![1]]) {
          const res = await call(op.method, path, { token: bearer, body: {} });
          expectProblem(res, 401, "webhook_signature_missing");
          expect(await roundTrips(res.requestId)).toMatchObject({ neon: 0 });
        }
        continue;
      }

      const anonymous = await call(op.method, path);
      expectProblem(anonymous, 401, "unauthenticated");
      expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm=/);
      expect(await roundTrips(anonymous.requestId)).toMatchObject({ neon: 0 });

      for (const [name, bearer] of bad) {
        const res = await call(op.method, path, { token: bearer });
        expect(res.status, `${op.method} ${op.path} with a ${name} token`).toBe(401);
        expectProblem(res, 401, "invalid_token");
        expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      }

      const reserved = await call(op.method, path, { token: service });
      expectProblem(reserved, 403, "service_role_reserved");
      expect(await roundTrips(reserved.requestId)).toMatchObject({ neon: 0 });
    }
  });
});
