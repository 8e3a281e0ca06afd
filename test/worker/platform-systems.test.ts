import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import examWorker from "../../functions/systems/exam";
import allInOne from "../../functions/worker";
import { SYSTEMS } from "../../src/systems";
import { testEnv, token } from "./helpers";

async function get(worker: typeof allInOne, path: string, env: Record<string, unknown> = testEnv, bearer?: string) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const response = await worker.fetch(new Request(`https://api.test${path}`, { headers }), env as never, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const pathsOf = async (worker: typeof allInOne, env?: Record<string, unknown>) =>
  Object.keys(((await (await get(worker, "/openapi.json", env)).json()) as { paths: Record<string, unknown> }).paths);

const systemOf = (path: string) => /^\/api\/v1\/([a-z]+)\//.exec(path)?.[1];

describe("a Worker per system", () => {
  it("the all-in-one serves every registered system's routes", async () => {
    const systems = new Set((await pathsOf(allInOne)).map(systemOf));
    for (const s of SYSTEMS) if ((await s.load()).router.routes.length) expect(systems).toContain(s.name);
  });

  it("the exam Worker describes and serves exam routes only", async () => {
    const systems = new Set((await pathsOf(examWorker)).map(systemOf).filter(Boolean));
    expect([...systems]).toEqual(["exam"]);
    const jwt = await token({ roles: ["admin"], tenant_id: "school-1" });
    expect((await get(examWorker, "/api/v1/hub/students", testEnv, jwt)).status).toBe(404);
    expect((await get(examWorker, "/api/v1/exam/sessions", testEnv, jwt)).status).toBe(200);
  });

  it("ENABLED_SYSTEMS narrows the all-in-one the same way", async () => {
    const systems = new Set((await pathsOf(allInOne, { ...testEnv, ENABLED_SYSTEMS: "hub" })).map(systemOf).filter(Boolean));
    expect([...systems]).toEqual(["hub"]);
  });
});
