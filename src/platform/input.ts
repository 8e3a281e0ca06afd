import { z } from "@hono/zod-openapi";
import type { FieldError } from "./problem";

/** How deep any JSON a request sends may nest (bodies, JSON query values, cursors). */
export const MAX_JSON_DEPTH = 32;
/** The largest free-form JSON field (metadata, config, content, features…), as UTF-8 JSON. */
export const MAX_FREE_JSON_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** With the u flag a surrogate class matches only surrogates that are not half of a pair: text Postgres refuses (jsonb) or mangles (text). */
const LONE_SURROGATE = /\p{Cs}/u;

/** A path segment readable in a problem: a key holding a NUL is shown escaped. */
const segment = (key: string | number) => String(key).replace(/\u0000/g, "\\u0000");

/**
 * The first thing in a validated value Postgres would refuse or choke on: a NUL character or an
 * unpaired surrogate in a string or an object key (text and jsonb cannot hold them), or nesting deeper than
 * MAX_JSON_DEPTH (deep jsonb is stored but then fails every read). Walked with an explicit
 * stack: the value may be as deep as the parser allowed.
 */
export function inputProblem(value: unknown, root: string): FieldError | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return { path, message: "must not contain a NUL character (\\u0000)" };
      if (LONE_SURROGATE.test(v)) return { path, message: "must be valid Unicode (an unpaired surrogate such as \\ud800 is not)" };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (depth >= MAX_JSON_DEPTH) return { path, message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, child] of Object.entries(v)) {
      const childPath = `${path}.${segment(key)}`;
      if (key.includes("\u0000")) return { path: childPath, message: "keys must not contain a NUL character (\\u0000)" };
      if (LONE_SURROGATE.test(key)) return { path: childPath, message: "keys must be valid Unicode (no unpaired surrogate)" };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * A free-form JSON field: anything JSON, at most MAX_FREE_JSON_BYTES. Depth and NUL are checked
 * first (they are checked for every input too, but this runs earlier and sizing a deep value
 * would exhaust the stack).
 */
export const freeJson = <T extends z.ZodType>(schema: T) =>
  schema.superRefine((v, ctx) => {
    const problem = inputProblem(v, "");
    if (problem) ctx.addIssue({ code: "custom", path: problem.path.split(".").slice(1), message: problem.message });
    else if (encoder.encode(JSON.stringify(v)).byteLength > MAX_FREE_JSON_BYTES) {
      ctx.addIssue({ code: "custom", message: `must be at most ${MAX_FREE_JSON_BYTES} bytes as JSON` });
    }
  });

/** A free-form JSON object field. */
export const JsonObject = freeJson(z.record(z.string(), z.unknown()));

/**
 * A PATCH body: every field optional, but at least one given. An empty change is a 422 naming
 * the body rather than a no-op, so a client that lost its fields on the way learns it.
 */
export const patchBody = <T extends z.ZodObject>(schema: T) =>
  schema.refine((body) => Object.values(body).some((v) => v !== undefined), { message: "must name at least one field to change" });
