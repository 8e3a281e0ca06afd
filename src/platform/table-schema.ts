import { z } from "@hono/zod-openapi";
import { getTableColumns, sql, type Column, type SQL, type Table } from "drizzle-orm";
import { createSchemaFactory } from "drizzle-zod";

/**
 * Schemas derived from a Drizzle table, so a table is declared once (beside its SQL migration):
 * its response schema, its insert schema and its column map all come from the Drizzle table.
 * Built on drizzle-zod with @hono/zod-openapi's z, so every derived schema takes `.openapi()`.
 */
const factory = createSchemaFactory({ zodInstance: z });

/** drizzle-zod's types, as the API puts them on the wire (c.json turns Dates into ISO text; bigints are read as text). */
type Wire<S> = S extends z.ZodDate
  ? z.ZodISODateTime
  : S extends z.ZodNullable<z.ZodDate>
    ? z.ZodNullable<z.ZodISODateTime>
    : S extends z.ZodBigInt
      ? z.ZodString
      : S extends z.ZodNullable<z.ZodBigInt>
        ? z.ZodNullable<z.ZodString>
        : S;
type WireShape<T extends z.ZodRawShape> = { [K in keyof T]: Wire<T[K]> };

/** The wire form of the column types whose select form is not what a JSON response carries. */
function wireSchema(column: Column): z.ZodType | undefined {
  switch (column.columnType) {
    case "PgTimestamp":
      return z.iso.datetime();
    case "PgDateString":
      return z.iso.date();
    case "PgBigInt64":
    case "PgBigSerial64":
      return z.string().regex(/^-?\d+$/).openapi({ description: "a 64-bit integer, as a string" });
    default:
      return undefined;
  }
}

/**
 * A table's rows as responses carry them, keyed by the Drizzle property names (camelCase).
 * `overrides` replaces columns whose JSON shape the table cannot tell (a jsonb object or array).
 */
export function rowSchema<T extends Table, O extends Partial<Record<keyof T["$inferSelect"], z.ZodType>> = {}>(table: T, overrides?: O) {
  const base = factory.createSelectSchema(table);
  const shape: Record<string, z.ZodType> = { ...base.shape };
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const wire = wireSchema(column);
    if (wire) shape[key] = column.notNull ? wire : wire.nullable();
  }
  Object.assign(shape, overrides);
  return z.object(shape) as unknown as z.ZodObject<Omit<WireShape<typeof base.shape>, keyof O> & O>;
}

/** What an INSERT takes (drizzle-zod: generated and defaulted columns optional), for request bodies built from a table. */
export const insertSchema = factory.createInsertSchema;

const isBigInt = (column: Column) => column.columnType === "PgBigInt64" || column.columnType === "PgBigSerial64";

type WireColumns<T extends Table> = {
  [K in keyof T["_"]["columns"]]: T["_"]["columns"][K] extends { _: { dataType: "bigint" } } ? SQL<string> : T["_"]["columns"][K];
};

/**
 * Every column of a table, by property name: the select list of a whole row as rowSchema()
 * describes it. 64-bit integers are read as text (JSON has no such numbers; c.json cannot write a BigInt).
 */
export function columnsOf<T extends Table>(table: T): WireColumns<T> {
  return Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => [key, isBigInt(column) ? sql<string>`${column}::text` : column]),
  ) as WireColumns<T>;
}
