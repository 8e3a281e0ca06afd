import type { MiddlewareHandler } from "hono";
import { hasRole, type Principal } from "../platform/auth";
import type { AppEnv } from "../platform/context";
import { ApiError } from "../platform/problem";

/**
 * Who may use the hub (docs/hub.md, "Roles"): admins see everything, teachers the students of the
 * school named by their token's tenant_id, students (role `student`) their own records, found by
 * students.user_id = the token's sub. Row-level security enforces the same in Postgres.
 * `service`, the cron jobs' identity, never arrives from a token (src/platform/middleware.ts).
 */
export function hubAccess(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.principal!;
    if (!hasRole(principal, "admin", "teacher", "student")) {
      throw new ApiError(403, "hub_role_required", "the student hub needs one of the roles admin, teacher or student");
    }
    if (!hasRole(principal, "admin") && hasRole(principal, "teacher") && !principal.tenantId) {
      throw new ApiError(403, "school_required", "a teacher's token must name its school in tenant_id");
    }
    await next();
  };
}

/** Writes are for staff (the `*_staff` policies): a student's token reads its own records only. */
export function requireStaff(p: Principal): void {
  if (!hasRole(p, "admin", "teacher")) throw new ApiError(403, "staff_only", "only a teacher or an admin may change hub records");
}

/** `action` completes "only an admin may …". */
export function requireAdmin(p: Principal, action: string): void {
  if (!hasRole(p, "admin")) throw new ApiError(403, "admin_only", `only an admin may ${action}`);
}

/** A teacher works in their own school only (RLS refuses the rest; this says so clearly). */
export function requireSchool(p: Principal, schoolId: string): void {
  if (!hasRole(p, "admin") && p.tenantId !== schoolId) {
    throw new ApiError(403, "other_school", `school ${schoolId} is not this teacher's school`);
  }
}
