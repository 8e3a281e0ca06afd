import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** RFC 9457 problem details, plus a stable machine `code` and the request id. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface FieldError {
  path: string;
  message: string;
}

const TYPE_BASE = "https://errors.edge-api.dev/";

/** An error a handler throws to answer with a problem; the code picks the URI and the title. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function problemBody(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return {
    type: TYPE_BASE + code,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...extensions,
  };
}

export function problemResponse(c: Context, err: ApiError): Response {
  const body = problemBody(err.status, err.code, err.detail, { ...err.extensions, requestId: c.get("requestId") });
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  c.header("Content-Type", "application/problem+json");
  return c.body(JSON.stringify(body), err.status);
}

/** A 422 for fields that rules beyond the request schema refused, shaped like schema failures. */
export function fieldErrors(errors: FieldError[]): ApiError {
  const shown = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`);
  const more = errors.length > shown.length ? ` (and ${errors.length - shown.length} more)` : "";
  return new ApiError(422, "validation_failed", shown.join("; ") + more, {
    errors: errors.map(({ path, message }) => ({ path, message })),
  });
}

export const fieldError = (path: string, message: string) => fieldErrors([{ path, message }]);

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} was not found`);
