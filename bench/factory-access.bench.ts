import type { BenchContext } from "./harness";

/**
 * The factory's per-request permission check (docs/factory.md, "Permissions") and an audited
 * change: GET /me (factory.authorize() plus one read, one batch), GET /users (a page), and PATCH
 * /users/{id} (seat lock, the change and its audit row with the JSON Patch diff in one statement).
 */
export default async function (ctx: BenchContext) {
  const api = `${ctx.baseUrl}/api/v1/factory`;
  const sub = crypto.randomUUID();
  const res = await fetch(`${api}/platform/tenants`, {
    method: "POST",
    headers: { Authorization: `Bearer ${await ctx.token(crypto.randomUUID(), ["platform_operator"])}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: `bench-${sub.slice(0, 8)}`, displayName: "Bench plant", maxUsers: 100, admin: { subject: sub, email: `${sub}@bench.test`, username: "admin" } }),
  });
  if (res.status !== 201) throw new Error(`tenant: ${res.status} ${await res.text()}`);
  const { tenant } = (await res.json()) as { tenant: { id: string } };
  const admin = await ctx.token(sub, [], { tenant_id: tenant.id });
  const auth = { Authorization: `Bearer ${admin}` };

  const other = crypto.randomUUID();
  const created = await fetch(`${api}/users`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ subject: other, email: `${other}@bench.test`, username: "bench", role: "viewer" }),
  });
  if (created.status !== 201) throw new Error(`user: ${created.status} ${await created.text()}`);

  await ctx.measure("GET /factory/me (authorize + read)", { total: 400, concurrency: 8 }, () => new Request(`${api}/me`, { headers: auth }));
  await ctx.measure("GET /factory/users (page of 20)", { total: 400, concurrency: 8 }, () => new Request(`${api}/users`, { headers: auth }));
  await ctx.measure("PATCH /factory/users/{id} (audited)", { total: 200, concurrency: 4 }, (i) =>
    new Request(`${api}/users/${other}`, { method: "PATCH", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ metadata: { n: i } }) }),
  );
}
