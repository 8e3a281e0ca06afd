import { hasRole, type Principal } from "../platform/auth";
import { ApiError, notFound } from "../platform/problem";

/** Roles that read every learner's sessions and submissions (admins read everything, 0002). */
export const STAFF_ROLES = ["reviewer", "proctor", "admin"] as const;

const anyOf = (roles: readonly string[]) => (roles.length > 1 ? `${roles.slice(0, -1).join(", ")} or ${roles.at(-1)}` : roles.join(""));

/** 403 unless the caller holds one of `roles` (exact names, as app.has_role() in the 0004 policies). */
export function requireRole(principal: Principal, roles: readonly string[], action: string): void {
  if (!hasRole(principal, ...roles)) throw new ApiError(403, "forbidden", `only a ${anyOf(roles)} may ${action}`);
}

/** 404 when the caller cannot see the session, else 409 naming the state that refused `action`. */
export function refused(current: { status: string } | undefined, action: string): ApiError {
  if (!current) return notFound("the session");
  return new ApiError(409, "invalid_state", `cannot ${action}: the session is ${current.status}`, { currentStatus: current.status });
}
