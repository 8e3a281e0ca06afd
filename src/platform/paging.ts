import { z } from "@hono/zod-openapi";
import { asc, Column, desc, is, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { inputProblem } from "./input";
import { fieldError } from "./problem";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Keyset pagination: a cursor is the sort key of the last row served, as base64url of its UTF-8
 * JSON, so each page is one index range scan wherever the list starts. Clients treat it as opaque.
 * Cursors are not signed: a forged one can only name another starting point of a list the caller
 * may read anyway (row-level security still decides what is visible), so decodeCursor only makes
 * sure it is one this API could have issued (canonical encoding, exact key shape, no NUL).
 */
export function encodeCursor(key: unknown): string {
  const bytes = encoder.encode(JSON.stringify(key));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const notACursor = () => fieldError("query.cursor", "is not a cursor this API issued");

function cursorJson(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw notACursor();
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const key: unknown = JSON.parse(decoder.decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    // Only the exact text encodeCursor makes: no padding, whitespace or stray bits smuggled in.
    if (encodeCursor(key) === cursor) return key;
  } catch {
    // not base64, not UTF-8 or not JSON: reported below like any other bad cursor
  }
  throw notACursor();
}

/** The key a cursor carries, checked against `shape` (undefined without a cursor); anything else is a 422 naming query.cursor. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, shape: T): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  const key = cursorJson(cursor);
  const problem = inputProblem(key, "query.cursor");
  if (problem) throw fieldError(problem.path, problem.message);
  const parsed = shape.safeParse(key);
  if (!parsed.success) throw notACursor();
  return parsed.data;
}

/**
 * What a key part may look like in a cursor, by its SQL type: checked before it reaches Postgres,
 * which would read "yesterday" or "infinity" as a time, or fail on text it cannot cast.
 */
const realTime = (s: string) => !Number.isNaN(Date.parse(s.endsWith("Z") ? s : `${s}Z`));
const KEY_FORMS = {
  timestamptz: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/).refine(realTime),
  timestamp: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/).refine(realTime),
  date: z.iso.date(),
  uuid: z.uuid(),
  integer: z.string().regex(/^-?\d{1,19}$/),
  number: z.string().regex(/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i),
  // Text key parts are ids, which the API caps at 128 characters (TextId).
  text: z.string().min(1).max(128),
};
const formOf = (cast: string): z.ZodType<string> => {
  if (cast === "timestamptz" || cast === "timestamp" || cast === "date" || cast === "uuid") return KEY_FORMS[cast];
  if (/^(bigint|integer|smallint)$/.test(cast)) return KEY_FORMS.integer;
  if (/^(real|double precision|numeric)/.test(cast)) return KEY_FORMS.number;
  return KEY_FORMS.text;
};

/** Splits off the one extra row a list fetched to learn whether another page follows. */
export function paginate<T>(rows: T[], limit: number, keyOf: (last: T) => unknown): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}

export const Limit = z.coerce.number().int().min(1).max(100).default(20).openapi({ description: "Page size (1–100, default 20)" });
export const CursorParam = z.string().max(512).optional().openapi({ description: "nextCursor of the previous page" });

/**
 * A timestamp column as exact ISO text (microseconds, UTC) for cursors: a JS Date keeps only
 * milliseconds, and a cursor rounded to them could skip or repeat rows.
 */
export const exactTime = (column: AnyColumn): SQL<string> =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** One part of a sort key: a column (its type says how to write and read it) or an expression with its SQL type. */
export type KeyPart = AnyColumn | { expr: SQL; type: string };
export type Direction = "asc" | "desc";

/** How a key part travels in a cursor: exact text, and the cast that reads it back. */
function keyCodec(part: KeyPart): { expr: SQL | AnyColumn; text: SQL<string>; cast: string } {
  if (!is(part, Column)) return { expr: part.expr, text: sql<string>`(${part.expr})::text`, cast: part.type };
  switch (part.columnType) {
    case "PgTimestamp":
      // Microseconds, which a JS Date would drop: a cursor rounded to milliseconds skips or repeats rows.
      return part.getSQLType().includes("with time zone")
        ? { expr: part, text: exactTime(part), cast: "timestamptz" }
        : { expr: part, text: sql<string>`to_char(${part}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`, cast: "timestamp" };
    case "PgBigSerial64":
    case "PgBigInt64":
      return { expr: part, text: sql<string>`${part}::text`, cast: "bigint" };
    case "PgDateString":
    case "PgDate":
      return { expr: part, text: sql<string>`${part}::text`, cast: "date" };
    default:
      return { expr: part, text: sql<string>`${part}::text`, cast: part.getSQLType() };
  }
}

/**
 * Keyset pagination over a sort key, one way for every list: select `keyset.columns` beside the
 * row, filter with `keyset.after(cursor)`, order by `keyset.orderBy`, fetch `limit + 1` rows, and
 * `keyset.page(rows, limit)` returns the items (without the key columns) and the next cursor. The
 * cursor is the last row's key as exact text; a cursor of another shape is a 422 (decodeCursor).
 * With one direction for every part the condition is a row comparison an index on the key serves.
 */
export function keyset(parts: readonly (KeyPart | [KeyPart, Direction])[], direction: Direction = "desc") {
  const specs = parts.map((p) => {
    const [part, dir] = Array.isArray(p) ? p : [p, direction];
    return { ...keyCodec(part), dir };
  });
  const names = specs.map((_, i) => `__key${i}`);
  const Key = z.tuple(specs.map((s) => formOf(s.cast)) as [z.ZodType<string>, ...z.ZodType<string>[]]);
  const value = (key: string[], i: number) => sql`${key[i]}::${sql.raw(specs[i]!.cast)}`;
  const beyond = (i: number, key: string[]) => (specs[i]!.dir === "desc" ? sql`${specs[i]!.expr} < ${value(key, i)}` : sql`${specs[i]!.expr} > ${value(key, i)}`);
  return {
    columns: Object.fromEntries(specs.map((s, i) => [names[i], s.text])) as Record<string, SQL<string>>,
    orderBy: specs.map((s) => (s.dir === "desc" ? desc(s.expr) : asc(s.expr))),
    after(cursor: string | undefined): SQL | undefined {
      const key = decodeCursor(cursor, Key);
      if (!key) return undefined;
      if (specs.every((s) => s.dir === specs[0]!.dir)) {
        const left = sql.join(specs.map((s) => sql`${s.expr}`), sql`, `);
        const right = sql.join(specs.map((_, i) => value(key, i)), sql`, `);
        return specs[0]!.dir === "desc" ? sql`(${left}) < (${right})` : sql`(${left}) > (${right})`;
      }
      // Mixed directions: the first part beyond its value, or equal and the rest beyond theirs.
      const branches = specs.map((_, i) =>
        sql.join([...specs.slice(0, i).map((s, j) => sql`${s.expr} = ${value(key, j)}`), beyond(i, key)], sql` and `),
      );
      return sql`(${sql.join(branches.map((b) => sql`(${b})`), sql` or `)})`;
    },
    page<R extends Record<string, unknown>>(rows: R[], limit: number): { items: Omit<R, `__key${number}`>[]; nextCursor: string | null } {
      const { items, nextCursor } = paginate(rows, limit, (last) => names.map((n) => last[n]));
      return { items: items.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("__key"))) as Omit<R, `__key${number}`>), nextCursor };
    },
  };
}
