import { z } from "@hono/zod-openapi";
import { inputProblem } from "../platform/input";
import { SampleLabelInput, type NewSample } from "./sample-sql";

/**
 * Parsing an import of learning samples (docs/factory-learning.md, "Import"), one line at a time:
 * JSON lines (one sample object per line) or CSV (a header, then one sample per line). Each line
 * either becomes a sample or an error naming its line and, for JSON lines, the JSON pointer of
 * what is wrong. Blank lines are skipped. CSV fields may be quoted (RFC 4180, "" for a quote) but
 * not span lines.
 */

export const MAX_IMPORT_LINES = 10_000;
/** Rows per INSERT statement: the batch's statements stay bounded whatever the import's size. */
export const IMPORT_BATCH_ROWS = 500;
/** How many line errors an answer lists (the count is always whole). */
export const MAX_LINE_ERRORS = 100;

export interface LineError {
  line: number;
  pointer: string;
  message: string;
}

const JsonLine = z
  .object({
    input_features: z.record(z.string(), z.unknown()),
    label: SampleLabelInput,
    quality_score: z.number().min(0).max(1).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The lines of a text, numbered from 1, without their line ends; never holds more than one line. */
export function* lines(text: string): Generator<[number, string]> {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    n++;
    const line = text.slice(start, end).replace(/\r$/, "");
    if (!(end === text.length && line === "")) yield [n, line];
    start = end + 1;
  }
}

const pointer = (path: readonly PropertyKey[]) => "/" + path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

function parseJsonLine(n: number, line: string): NewSample | LineError {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { line: n, pointer: "", message: "not valid JSON" };
  }
  const limits = inputProblem(value, "");
  if (limits) return { line: n, pointer: "", message: limits.message };
  const parsed = JsonLine.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { line: n, pointer: pointer(issue.path), message: issue.message };
  }
  const d = parsed.data;
  return { inputFeatures: d.input_features, label: d.label, qualityScore: d.quality_score ?? null, metadata: d.metadata ?? {}, judgmentExecutionId: null };
}

/** One CSV record (RFC 4180 quoting within the line). */
export function csvFields(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ",") return null;
      i++;
    } else {
      const comma = line.indexOf(",", i);
      if (comma < 0) {
        fields.push(line.slice(i));
        return fields;
      }
      fields.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

const LABEL_COLUMNS = new Set(["result", "confidence", "explanation", "quality_score"]);
const FEATURE_COLUMN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A CSV header: `result` required; confidence, explanation, quality_score optional; every other column a feature (`metrics.defect_rate` nests one level). */
export function csvHeader(fields: string[]): { columns: string[] } | LineError {
  const seen = new Set<string>();
  for (const [i, name] of fields.entries()) {
    if (seen.has(name)) return { line: 1, pointer: `/${i}`, message: `column ${name} appears twice` };
    seen.add(name);
    if (!LABEL_COLUMNS.has(name) && !FEATURE_COLUMN.test(name)) return { line: 1, pointer: `/${i}`, message: `column ${JSON.stringify(name)} is neither a label column nor a feature name such as metrics.defect_rate` };
  }
  if (!seen.has("result")) return { line: 1, pointer: "", message: "the header needs a result column" };
  if (![...seen].some((c) => !LABEL_COLUMNS.has(c))) return { line: 1, pointer: "", message: "the header names no feature column" };
  return { columns: fields };
}

function parseCsvLine(n: number, line: string, columns: string[]): NewSample | LineError {
  const fields = csvFields(line);
  if (!fields) return { line: n, pointer: "", message: "malformed CSV (an unclosed or misplaced quote)" };
  if (fields.length !== columns.length) return { line: n, pointer: "", message: `${fields.length} fields, the header has ${columns.length}` };
  // Without a prototype, a feature column named __proto__ is a key like any other, not a lost assignment.
  const input: Record<string, unknown> = Object.create(null);
  const label: Record<string, unknown> = {};
  let quality: number | null = null;
  for (const [i, name] of columns.entries()) {
    const raw = fields[i]!;
    const at = `/${i}`;
    const unstorable = inputProblem(raw, "");
    if (unstorable) return { line: n, pointer: at, message: unstorable.message };
    if (name === "result" || name === "explanation") {
      if (raw !== "") label[name] = raw;
    } else if (name === "confidence" || name === "quality_score") {
      if (raw === "") continue;
      const v = Number(raw);
      if (!NUMBER.test(raw) || v < 0 || v > 1) return { line: n, pointer: at, message: `${name} must be a number from 0 to 1` };
      if (name === "confidence") label.confidence = v;
      else quality = v;
    } else if (raw !== "") {
      const value = NUMBER.test(raw) ? Number(raw) : raw === "true" || raw === "false" ? raw === "true" : raw;
      if (typeof value === "number" && !Number.isFinite(value)) return { line: n, pointer: at, message: `${name}: ${raw} is beyond the numbers a sample can hold` };
      const [top, key] = name.split(".") as [string, string | undefined];
      if (key === undefined) input[top] = value;
      else {
        const nested = input[top];
        if (nested !== undefined && (typeof nested !== "object" || nested === null)) return { line: n, pointer: at, message: `column ${name} nests under ${top}, which another column sets to a value` };
        input[top] = Object.assign(Object.create(null), nested, { [key]: value });
      }
    }
  }
  const parsed = SampleLabelInput.safeParse(label);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const column = columns.indexOf(String(issue.path[0] ?? "result"));
    return { line: n, pointer: `/${column}`, message: `${String(issue.path[0] ?? "result")}: ${issue.message}` };
  }
  return { inputFeatures: input, label: parsed.data, qualityScore: quality, metadata: {}, judgmentExecutionId: null };
}

export interface ParsedImport {
  samples: NewSample[];
  errors: LineError[];
  errorCount: number;
  lines: number;
}

const isError = (x: NewSample | LineError): x is LineError => "message" in x;

/** Parses an import line by line; stops taking samples after MAX_IMPORT_LINES (every later line is one error). */
export function parseImport(text: string, format: "jsonl" | "csv"): ParsedImport {
  const out: ParsedImport = { samples: [], errors: [], errorCount: 0, lines: 0 };
  const fail = (e: LineError) => {
    out.errorCount++;
    if (out.errors.length < MAX_LINE_ERRORS) out.errors.push(e);
  };
  let columns: string[] | null = null;
  for (const [n, line] of lines(text)) {
    out.lines = n;
    if (line.trim() === "") continue;
    if (format === "csv" && columns === null) {
      const fields = csvFields(line);
      const header = fields ? csvHeader(fields) : { line: n, pointer: "", message: "malformed CSV header" };
      if ("message" in header) {
        fail({ ...header, line: n });
        return out;
      }
      columns = header.columns;
      continue;
    }
    if (out.samples.length + out.errorCount >= MAX_IMPORT_LINES) {
      fail({ line: n, pointer: "", message: `an import holds at most ${MAX_IMPORT_LINES} samples` });
      continue;
    }
    const parsed = format === "jsonl" ? parseJsonLine(n, line) : parseCsvLine(n, line, columns!);
    if (isError(parsed)) fail(parsed);
    else out.samples.push(parsed);
  }
  return out;
}
