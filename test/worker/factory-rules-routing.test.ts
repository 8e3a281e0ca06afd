import { describe, expect, it } from "vitest";
import { canaryBucket, chooseVersion, matchesTarget, type RoutableDeployment } from "../../src/factory/rule-routing";

const TENANT = "00000000-0000-4000-8000-000000000001";
const active: RoutableDeployment = { id: "d-active", version: 4, status: "active", canaryPct: null, canaryTargetFilter: null, deployedAt: "2026-11-01T00:00:00Z" };
const canary = (over: Partial<RoutableDeployment> = {}): RoutableDeployment => ({
  id: "d-canary",
  version: 5,
  status: "canary",
  canaryPct: 0.1,
  canaryTargetFilter: null,
  deployedAt: "2026-11-20T00:00:00Z",
  ...over,
});

async function hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
const inputs = async (n: number, data: Record<string, unknown> = { line_code: "L01" }) =>
  Promise.all(Array.from({ length: n }, async (_, i) => ({ inputData: data, inputHash: await hex(`input-${i}`) })));

describe("canary routing (src/factory/rule-routing.ts)", () => {
  it("sends about canary_pct of inputs to the canary, the same input always to the same version", async () => {
    const sample = await inputs(2000);
    const chosen = await Promise.all(sample.map((input) => chooseVersion([active, canary()], input, TENANT)));
    const share = chosen.filter((c) => c?.status === "canary").length / sample.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
    for (const [i, input] of sample.slice(0, 200).entries()) {
      expect(await chooseVersion([canary(), active], input, TENANT)).toEqual(chosen[i]);
    }
    const picked = chosen.find((c) => c?.status === "canary")!;
    expect(picked).toMatchObject({ version: 5, deploymentId: "d-canary" });
    expect(picked.bucket).toBeLessThan(0.1);
    expect(chosen.find((c) => c?.status === "active")).toEqual({ deploymentId: "d-active", version: 4, status: "active", bucket: null });
  });

  it("keys the bucket on tenant, deployment and input hash", async () => {
    const h = await hex("x");
    const b = await canaryBucket(TENANT, "d1", h);
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(1);
    expect(await canaryBucket(TENANT, "d1", h)).toBe(b);
    const others = [await canaryBucket(TENANT, "d2", h), await canaryBucket("other-tenant", "d1", h), await canaryBucket(TENANT, "d1", await hex("y"))];
    for (const o of others) expect(o).not.toBe(b);
  });

  it("honours the target filter: only matching inputs may take the canary", async () => {
    const filter = { line_codes: ["L01", "L02"], shift: "night", product_categories: ["A"], user_groups: ["beta_testers"] };
    const inside = { inputData: { line_code: "L02", shift: "night", product_category: "A" }, userGroups: ["beta_testers", "x"] };
    expect(matchesTarget(filter, inside)).toBe(true);
    expect(matchesTarget(filter, { ...inside, inputData: { ...inside.inputData, line_code: "L03" } })).toBe(false);
    expect(matchesTarget(filter, { ...inside, inputData: { line_code: "L01", product_category: "A" } })).toBe(false);
    expect(matchesTarget(filter, { ...inside, inputData: { ...inside.inputData, product_category: "B" } })).toBe(false);
    expect(matchesTarget(filter, { ...inside, userGroups: [] })).toBe(false);
    expect(matchesTarget({ line_codes: ["L01"] }, { inputData: { line_code: "L01" } })).toBe(true);
    expect(matchesTarget(null, { inputData: {} })).toBe(true);

    const everyone = canary({ canaryPct: 1, canaryTargetFilter: { line_codes: ["L01"] } });
    for (const input of await inputs(50, { line_code: "L01" })) expect((await chooseVersion([active, everyone], input, TENANT))?.version).toBe(5);
    for (const input of await inputs(50, { line_code: "L09" })) expect((await chooseVersion([active, everyone], input, TENANT))?.version).toBe(4);
  });

  it("falls back to the newest active deployment, ignores other statuses, and answers null when nothing is deployed", async () => {
    const [input] = await inputs(1);
    const older = { ...active, id: "d-old", version: 3, deployedAt: "2026-10-01T00:00:00Z" };
    const ignored: RoutableDeployment[] = ["draft", "rolled_back", "deprecated"].map((status, i) => ({ ...active, id: `x${i}`, version: 9, status, deployedAt: "2026-12-01T00:00:00Z" }));
    expect((await chooseVersion([older, active, ...ignored], input!, TENANT))?.version).toBe(4);
    expect(await chooseVersion(ignored, input!, TENANT)).toBeNull();
    expect(await chooseVersion([canary({ canaryPct: null })], input!, TENANT)).toBeNull();
    expect((await chooseVersion([canary({ canaryPct: 1 })], input!, TENANT))?.status).toBe("canary");
  });
});
