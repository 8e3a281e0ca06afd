import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { ConfigError } from "./config";
import { log } from "./log";
import { ApiError, problemResponse, type FieldError } from "./problem";

interface PgErrorFields {
  code?: string;
  constraint?: string;
  column?: string;
}

/** Postgres SQLSTATEs a request can cause, as HTTP problems. The constraint name is the stable hint. */
function fromPostgres(err: PgErrorFields): ApiError | null {
  const on = err.constraint ? ` (constraint ${err.constraint})` : "";
  const ext = err.constraint ? { constraint: err.constraint } : {};
  switch (err.code) {
    case "23505":
      return new ApiError(409, "unique_violation", `a row with the same unique key already exists${on}`, ext);
    case "23503":
      return new ApiError(409, "foreign_key_violation", `a referenced row does not exist or is still referenced${on}`, ext);
    case "23514":
      return new ApiError(422, "check_violation", `a value is outside its allowed range${on}`, ext);
    case "23502":
      return new ApiError(422, "not_null_violation", `a required value is missing${err.column ? ` (column ${err.column})` : ""}`);
    case "22001":
      return new ApiError(422, "value_too_long", "a value is longer than its column allows");
    case "22P05":
    case "22021":
      return new ApiError(422, "invalid_text", "a value holds a character the database cannot store");
    case "54000":
    case "54001":
      return new ApiError(422, "value_too_large", "a value is too large or too deeply nested to store or index");
    case "22P02":
    case "22007":
    case "22008":
    case "22003":
      return new ApiError(422, "invalid_value", "a value has the wrong form or is out of range");
    case "42501":
      return new ApiError(403, "forbidden", "the row is not yours to read or change");
    case "40001":
    case "40P01":
      return new ApiError(409, "concurrent_update", "a concurrent change won; retry the request", {}, { "Retry-After": "1" });
    default:
      return null;
  }
}

export function validationError(error: ZodError, where: string): ApiError {
  const errors: FieldError[] = error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  return new ApiError(422, "validation_failed", errors.map((e) => `${e.path}: ${e.message}`).join("; "), { errors });
}

/** The one error handler: every failure leaves as application/problem+json, never with internals. */
export function handleError(err: unknown, c: Context): Response {
  if (err instanceof ApiError) return problemResponse(c, err);
  if (err instanceof ConfigError) {
    log("error", "configuration invalid", { variables: err.variables });
    return problemResponse(c, new ApiError(503, "config_invalid", `the service is misconfigured: ${err.variables.join(", ")}`));
  }
  if (err instanceof HTTPException) {
    const code = err.status === 400 ? "malformed_request" : `http_${err.status}`;
    return problemResponse(c, new ApiError(err.status as 400, code, err.message || "the request could not be read"));
  }
  const pg = err && typeof err === "object" && "code" in err ? fromPostgres(err as PgErrorFields) : null;
  if (pg) return problemResponse(c, pg);
  log("error", "unhandled error", {
    requestId: c.get("requestId"),
    name: err instanceof Error ? err.name : typeof err,
    message: err instanceof Error ? err.message : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });
  return problemResponse(c, new ApiError(500, "internal_error", "an unexpected error occurred; quote the request id when reporting it"));
}
