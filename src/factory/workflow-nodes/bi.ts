import { NodeError } from "../workflow-errors";
import type { NodeConfig } from "../workflow-dsl-schema";
import { nodeConfig } from "./config";
import type { NodeHandler } from "./types";

/**
 * BI: aggregates over an earlier node's rows (docs/factory-workflows.md, "Nodes"). `source` is a
 * path (the DSL allows nothing else) to an array of objects, or to a DATA result (its `rows`). Each aggregate:
 * count (rows), sum, avg, min, max, p50, p95, p99 (over `field`'s numbers; percentiles
 * interpolate linearly between ranks), distinct_count (distinct values of `field`), rate (share
 * of the rows matching `where`, 0..1). `where` ({field: value}, equality) narrows the rows of any
 * other op. Non-numbers are skipped by numeric ops; an op with no number answers null (sum: 0).
 */

type Aggregate = NodeConfig<"BI">["aggregates"][number];
type Row = Record<string, unknown>;

const invalid = (message: string) => new NodeError("VALIDATION_ERROR", message);

function rowsOf(source: unknown): Row[] {
  const list = Array.isArray(source) ? source : source && typeof source === "object" && Array.isArray((source as Row).rows) ? ((source as Row).rows as unknown[]) : null;
  if (!list) throw invalid("/config/source must lead to an array of objects (or a DATA result with rows)");
  if (!list.every((r) => r !== null && typeof r === "object" && !Array.isArray(r))) throw invalid("/config/source must lead to an array of objects");
  return list as Row[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const matches = (row: Row, where: Record<string, unknown> | undefined) => !where || Object.entries(where).every(([k, v]) => same(row[k] ?? null, v));

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** One aggregate over one group's rows. */
export function aggregate(rows: Row[], a: Aggregate): number | null {
  if (a.op === "rate") return rows.length ? rows.filter((r) => matches(r, a.where)).length / rows.length : null;
  const chosen = rows.filter((r) => matches(r, a.where));
  if (a.op === "count") return chosen.length;
  if (a.op === "distinct_count") return new Set(chosen.map((r) => JSON.stringify(r[a.field!] ?? null))).size;
  const numbers = chosen.map((r) => r[a.field!]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (a.op === "sum") return numbers.reduce((s, n) => s + n, 0);
  if (!numbers.length) return null;
  if (a.op === "avg") return numbers.reduce((s, n) => s + n, 0) / numbers.length;
  if (a.op === "min") return Math.min(...numbers);
  if (a.op === "max") return Math.max(...numbers);
  return percentile([...numbers].sort((x, y) => x - y), Number(a.op.slice(1)));
}

const over = (rows: Row[], aggregates: Aggregate[]) => Object.fromEntries(aggregates.map((a) => [a.name, aggregate(rows, a)]));

export const bi: NodeHandler = async (ctx, raw) => {
  const { source, aggregates, group_by: groupBy } = nodeConfig("BI", raw);
  const rows = rowsOf(ctx.resolve(source));
  if (groupBy === undefined) return over(rows, aggregates);
  const groups = new Map<string, { key: Row; rows: Row[] }>();
  for (const row of rows) {
    const key = Object.fromEntries(groupBy.map((f) => [f, row[f] ?? null]));
    const id = JSON.stringify(key);
    if (!groups.has(id)) groups.set(id, { key, rows: [] });
    groups.get(id)!.rows.push(row);
  }
  return { groups: [...groups.values()].map((g) => ({ key: g.key, ...over(g.rows, aggregates) })) };
};
