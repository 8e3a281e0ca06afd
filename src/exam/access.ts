import { ApiError, notFound } from "../platform/problem";

/** Roles that read every learner's sessions and submissions (admins read everything, 0002). */
export const STAFF_ROLES = ["reviewer", "proctor", "admin"] as const;

/** 404 when the caller cannot see the session, else 409 naming the state that refused `action`. */
export function refused(current: { status: string } | undefined, action: string): ApiError {
  if (!current) return notFound("the session");
  return new ApiError(409, "invalid_state", `cannot ${action}: the session is ${current.status}`, { currentStatus: current.status });
}
