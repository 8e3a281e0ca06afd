import { z } from "@hono/zod-openapi";
import { Column, is } from "drizzle-orm";
import type { Principal } from "../platform/auth";
import { DateKey, decodeCursor, ExactTimeKey, keyset, type KeyPart } from "../platform/paging";
import { fieldError } from "../platform/problem";

/**
 * The caller's id as the seedtest tables store it (their user/teacher columns are TEXT): the
 * canonical lowercase UUID, which is also what the RLS helper seedtest.caller_id() compares with.
 */
export const callerId = (principal: Principal) => principal.userId.toLowerCase();

/** User and teacher ids are user ids (src/platform/user-id.ts): UUIDs, stored lowercase. */
export const UserId = z.uuid().transform((s) => s.toLowerCase());

/** Client-visible text keys (classroom, session, topic ids). */
export const TextId = z.string().min(1).max(128);

/** Path parameters that are text ids, by name: the seedtest tables key rows by TEXT, not by UUID. */
export function textParams<K extends string>(...names: K[]) {
  return z.object(Object.fromEntries(names.map((n) => [n, TextId.openapi({ param: { name: n, in: "path" } })])) as Record<K, typeof TextId>);
}

/** Rejects a time or date range whose end lies before its start. */
export function checkRange(from: string | undefined, to: string | undefined) {
  if (from !== undefined && to !== undefined && Date.parse(to) < Date.parse(from)) throw fieldError("query.to", "must not be before from");
}

/** The form a cursor's part takes for its column: Postgres would read "yesterday" as a timestamp, or fail on text it cannot cast. */
function keyPartText(part: KeyPart): z.ZodType {
  if (is(part, Column) && part.columnType === "PgTimestamp" && part.getSQLType().includes("with time zone")) return ExactTimeKey;
  if (is(part, Column) && part.columnType === "PgDateString") return DateKey;
  return TextId;
}

/** keyset() (newest first) whose cursor parts are checked against their columns' types before they reach Postgres. */
export function newestFirst(parts: readonly KeyPart[]) {
  const k = keyset(parts, "desc");
  const Key = z.tuple(parts.map(keyPartText) as [z.ZodType, ...z.ZodType[]]);
  return {
    ...k,
    after(cursor: string | undefined) {
      decodeCursor(cursor, Key);
      return k.after(cursor);
    },
  };
}
