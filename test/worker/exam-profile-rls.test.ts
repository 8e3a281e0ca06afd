import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { examProfiles } from "../../src/exam/schema";
import type { Principal } from "../../src/platform/auth";
import { runAs } from "../../src/platform/db";
import { db, learner as principal } from "./exam-helpers";

async function seedProfile(owner: Principal) {
  await runAs(db, owner, [
    db.insert(examProfiles).values({ id: crypto.randomUUID(), userId: owner.userId, level: "BASIC", examDate: "2027-01-01", targetType: "PASS_FIRST" }),
  ] as const);
}

describe("row-level security on the API's database role", () => {
  it("connects as a role that neither owns the tables nor bypasses RLS", async () => {
    const { rows } = await db.execute<{ current_user: string; bypass: boolean; superuser: boolean; owner: string; forced: boolean }>(sql`
      select current_user, r.rolbypassrls as bypass, r.rolsuper as superuser, t.tableowner as owner, c.relforcerowsecurity as forced
      from pg_roles r, pg_tables t join pg_class c on c.relname = t.tablename and c.relnamespace = 'exam'::regnamespace
      where r.rolname = current_user and t.schemaname = 'exam' and t.tablename = 'exam_profiles'`);
    expect(rows[0]).toMatchObject({ bypass: false, superuser: false, forced: true });
    expect(rows[0]!.owner).not.toBe(rows[0]!.current_user);
  });

  it("shows a statement without identity nothing and lets it change nothing", async () => {
    const owner = principal();
    await seedProfile(owner);
    const [seen, updated, deleted] = await runAs(db, null, [
      db.select().from(examProfiles).where(eq(examProfiles.userId, owner.userId)),
      db.update(examProfiles).set({ level: "FUTURE" }).where(eq(examProfiles.userId, owner.userId)).returning(),
      db.delete(examProfiles).where(eq(examProfiles.userId, owner.userId)).returning(),
    ] as const);
    expect([seen.length, updated.length, deleted.length]).toEqual([0, 0, 0]);
    const plain = await db.select().from(examProfiles).where(eq(examProfiles.userId, owner.userId));
    expect(plain).toHaveLength(0);
  });

  it("shows another user's identity nothing and refuses writes on the owner's behalf", async () => {
    const owner = principal();
    const intruder = principal();
    await seedProfile(owner);
    const [seen, updated, deleted] = await runAs(db, intruder, [
      db.select().from(examProfiles).where(eq(examProfiles.userId, owner.userId)),
      db.update(examProfiles).set({ level: "FUTURE" }).where(eq(examProfiles.userId, owner.userId)).returning(),
      db.delete(examProfiles).where(eq(examProfiles.userId, owner.userId)).returning(),
    ] as const);
    expect([seen.length, updated.length, deleted.length]).toEqual([0, 0, 0]);

    const forged = runAs(db, intruder, [
      db.insert(examProfiles).values({ id: crypto.randomUUID(), userId: crypto.randomUUID(), level: "BASIC", examDate: "2027-01-01", targetType: "PASS_FIRST" }),
    ] as const);
    await expect(forged).rejects.toMatchObject({ code: "42501" });

    const [own] = await runAs(db, owner, [db.select().from(examProfiles).where(eq(examProfiles.userId, owner.userId))] as const);
    expect(own).toHaveLength(1);
    expect(own[0]!.level).toBe("BASIC");
  });
});
