import { compile, run, type Program } from "./rhai";

/**
 * Pattern mining for auto rule candidates (spec 003 §6.3; docs/factory-learning.md): a small
 * CART decision tree (Gini impurity, depth ≤ 3 by default) over the numeric features of
 * validated samples, written out as a Rhai script of nested `if`s that the rule engine runs like
 * any version. Pure functions: no database, no clock.
 */

export const LABELS = ["normal", "warning", "critical"] as const;
export type Label = (typeof LABELS)[number];

export interface LabeledSample {
  id: string;
  /** The sample's input_features: a judgment's input_data ({metrics: {…}, context: {…}, …}). */
  input: Record<string, unknown>;
  label: Label;
}

/** A numeric input value: `metrics.defect_rate` is {param: "metrics", key: "defect_rate"}; a top-level number has key null. */
export interface Feature {
  param: string;
  key: string | null;
}

export interface TreeOptions {
  maxDepth: number;
  minLeaf: number;
}
export const DEFAULT_TREE: TreeOptions = { maxDepth: 3, minLeaf: 2 };

type Node =
  | { leaf: true; label: Label; confidence: number; support: number }
  | { leaf: false; feature: Feature; threshold: number; above: Node; below: Node };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export const featureName = (f: Feature) => (f.key === null ? f.param : `${f.param}.${f.key}`);

export function featureValue(input: Record<string, unknown>, f: Feature): number | null {
  const top = input[f.param];
  const v = f.key === null ? top : isRecord(top) ? top[f.key] : undefined;
  return isNumber(v) ? v : null;
}

/**
 * The features a rule may test: numbers at the top level or one level down, named as Rhai
 * identifiers, present in every training sample (a script reading a missing one would fail on
 * the samples that lack it).
 */
export function numericFeatures(samples: readonly LabeledSample[]): Feature[] {
  const first = samples[0]?.input ?? {};
  const candidates: Feature[] = [];
  for (const [param, value] of Object.entries(first)) {
    if (!IDENT.test(param)) continue;
    if (isNumber(value)) candidates.push({ param, key: null });
    else if (isRecord(value)) for (const [key, v] of Object.entries(value)) if (IDENT.test(key) && isNumber(v)) candidates.push({ param, key });
  }
  return candidates.filter((f) => samples.every((s) => featureValue(s.input, f) !== null));
}

function counts(samples: readonly LabeledSample[]): Map<Label, number> {
  const m = new Map<Label, number>();
  for (const s of samples) m.set(s.label, (m.get(s.label) ?? 0) + 1);
  return m;
}

function gini(c: Map<Label, number>, n: number): number {
  if (n === 0) return 0;
  let sum = 0;
  for (const v of c.values()) sum += (v / n) ** 2;
  return 1 - sum;
}

/** The majority label; ties go to the more severe one (a missed critical costs more than a false alarm). */
function majority(samples: readonly LabeledSample[]): { label: Label; share: number } {
  const c = counts(samples);
  let best: Label = "normal";
  let bestCount = -1;
  for (const label of LABELS) {
    const n = c.get(label) ?? 0;
    if (n >= bestCount && n > 0) [best, bestCount] = [label, n];
  }
  return { label: best, share: samples.length ? Math.max(bestCount, 0) / samples.length : 0 };
}

/** The number with the fewest decimals in [lo, hi): `x > t` then separates lo from hi, and reads like a human threshold (0.07, not 0.0703). */
export function roundThreshold(lo: number, hi: number): number {
  for (let digits = 0; digits <= 12; digits++) {
    const scale = 10 ** digits;
    const t = Math.ceil(lo * scale - 1e-9) / scale;
    if (t >= lo && t < hi) return t;
  }
  return (lo + hi) / 2;
}

interface Split {
  feature: Feature;
  threshold: number;
  impurity: number;
}

function bestSplit(samples: readonly LabeledSample[], features: readonly Feature[], minLeaf: number): Split | null {
  let best: Split | null = null;
  const n = samples.length;
  for (const feature of features) {
    const sorted = [...samples].sort((a, b) => featureValue(a.input, feature)! - featureValue(b.input, feature)!);
    const below = new Map<Label, number>();
    const above = counts(sorted);
    for (let i = 0; i < n - 1; i++) {
      const s = sorted[i]!;
      below.set(s.label, (below.get(s.label) ?? 0) + 1);
      above.set(s.label, above.get(s.label)! - 1);
      const lo = featureValue(s.input, feature)!;
      const hi = featureValue(sorted[i + 1]!.input, feature)!;
      if (lo === hi || i + 1 < minLeaf || n - i - 1 < minLeaf) continue;
      const impurity = ((i + 1) * gini(below, i + 1) + (n - i - 1) * gini(above, n - i - 1)) / n;
      if (!best || impurity < best.impurity - 1e-12) best = { feature, threshold: roundThreshold(lo, hi), impurity };
    }
  }
  return best;
}

function grow(samples: readonly LabeledSample[], features: readonly Feature[], depth: number, o: TreeOptions): Node {
  const { label, share } = majority(samples);
  const leaf: Node = { leaf: true, label, confidence: Math.round(share * 100) / 100, support: samples.length };
  if (depth >= o.maxDepth || share === 1 || samples.length < 2 * o.minLeaf) return leaf;
  const split = bestSplit(samples, features, o.minLeaf);
  if (!split || split.impurity >= gini(counts(samples), samples.length) - 1e-12) return leaf;
  const above = samples.filter((s) => featureValue(s.input, split.feature)! > split.threshold);
  const below = samples.filter((s) => featureValue(s.input, split.feature)! <= split.threshold);
  const a = grow(above, features, depth + 1, o);
  const b = grow(below, features, depth + 1, o);
  // Both sides say the same: the test adds nothing to the rule.
  if (a.leaf && b.leaf && a.label === b.label) return leaf;
  return { leaf: false, feature: split.feature, threshold: split.threshold, above: a, below: b };
}

export function learnTree(samples: readonly LabeledSample[], options: Partial<TreeOptions> = {}): { tree: Node; features: Feature[] } | null {
  const features = numericFeatures(samples);
  if (!samples.length || !features.length) return null;
  return { tree: grow(samples, features, 0, { ...DEFAULT_TREE, ...options }), features };
}

const literal = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));
const quoted = (s: string) => JSON.stringify(s);

function paramsOf(node: Node, into = new Set<string>()): Set<string> {
  if (!node.leaf) {
    into.add(node.feature.param);
    paramsOf(node.above, into);
    paramsOf(node.below, into);
  }
  return into;
}

function body(node: Node, path: string[], indent: string): string {
  if (node.leaf) {
    const why = path.length ? path.join(" and ") : "every training sample";
    const explanation = `${why}: ${node.label} (pattern mining, ${Math.round(node.confidence * node.support)} of ${node.support} training samples)`;
    return `${indent}#{ result: ${quoted(node.label)}, confidence: ${literal(node.confidence)}, explanation: ${quoted(explanation)} }`;
  }
  const name = featureName(node.feature);
  const t = literal(node.threshold);
  const inner = `${indent}  `;
  return [
    `${indent}if ${name} > ${t} {`,
    body(node.above, [...path, `${name} > ${t}`], inner),
    `${indent}} else {`,
    body(node.below, [...path, `${name} <= ${t}`], inner),
    `${indent}}`,
  ].join("\n");
}

/** The tree as a Rhai function named `name`; its parameters are the top-level input keys it reads. */
export function treeScript(tree: Node, name = "learned_rule"): string {
  const params = [...paramsOf(tree)].sort();
  return `// learned by pattern mining (decision tree)\nfn ${name}(${params.join(", ")}) {\n${body(tree, [], "  ")}\n}\n`;
}

/** How many conditions the tree tests, and where: for the candidate's metadata. */
export function treeConditions(node: Node): string[] {
  return node.leaf ? [] : [`${featureName(node.feature)} > ${literal(node.threshold)}`, ...treeConditions(node.above), ...treeConditions(node.below)];
}

/**
 * The ensemble (docs/factory-learning.md): the tree decides where its leaf is sure (training
 * share ≥ `sure`), the LLM's rule elsewhere, the tree again when the LLM's rule gives no valid
 * result. Both functions keep their own parameters; the entry takes the union.
 */
export function ensembleScript(mined: string, minedFn: FnSig, llm: string, llmFn: FnSig, sure = 0.9): string {
  const params = [...new Set([...minedFn.params, ...llmFn.params])].sort();
  return [
    "// ensemble: the mined tree where it is sure, else the LLM's rule",
    `fn ensemble_rule(${params.join(", ")}) {`,
    `  let mined = ${minedFn.name}(${minedFn.params.join(", ")});`,
    `  if mined.confidence >= ${literal(sure)} { return mined; }`,
    `  let asked = ${llmFn.name}(${llmFn.params.join(", ")});`,
    `  if type_of(asked) == "map" && (asked.result == "normal" || asked.result == "warning" || asked.result == "critical") { asked } else { mined }`,
    "}",
    "",
    mined,
    llm,
  ].join("\n");
}

export interface FnSig {
  name: string;
  params: string[];
}

/** The entry (first function) of a compiled script. */
export function entryOf(program: Program): FnSig | null {
  const name = program.fnOrder[0];
  const fn = name ? program.fns.get(name) : undefined;
  return fn ? { name: fn.name, params: fn.params } : null;
}

/** Splits samples into learning and held-out sets by id (stable across runs): every id whose hash falls under `holdout`. */
export async function holdOut<T extends { id: string }>(samples: readonly T[], holdout: number): Promise<{ train: T[]; test: T[] }> {
  const train: T[] = [];
  const test: T[] = [];
  for (const s of samples) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s.id)));
    const u = ((digest[0]! << 8) | digest[1]!) / 65536;
    (u < holdout ? test : train).push(s);
  }
  return { train, test };
}

export interface EdgeCase {
  input: Record<string, unknown>;
  expected: Label;
  actual: string;
}

/** §6.3 test_results, plus the scores the candidate's columns hold. */
export interface Evaluation {
  coverage: number;
  precision: number;
  recall: number;
  f1Score: number;
  testResults: {
    total_cases: number;
    passed: number;
    failed: number;
    false_positives: number;
    false_negatives: number;
    edge_cases: EdgeCase[];
    performance: { avg_execution_time_ms: number; max_execution_time_ms: number };
  };
}

const MAX_EDGE_CASES = 20;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** What a script answers for one input: its `result` when it is normal, warning or critical, else "unknown" or "error: …". */
export function predict(program: Program, input: Record<string, unknown>): string {
  const r = run(program, null, input);
  if (!r.ok) return `error: ${r.error.message}`;
  const v = r.value;
  const result = isRecord(v) ? v.result : undefined;
  return typeof result === "string" && (LABELS as readonly string[]).includes(result) ? result : "unknown";
}

/**
 * Scores a script on held-out samples. A rule "fires" when it answers warning or critical:
 * a true positive is a firing that names the expected non-normal label; a false positive fires
 * where the label is normal or another severity; a false negative misses a non-normal label.
 * coverage: the share of cases the rule decides at all (a valid result, no error).
 */
export function evaluate(program: Program, samples: readonly LabeledSample[]): Evaluation {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let passed = 0;
  let decided = 0;
  let total = 0;
  let max = 0;
  const edge: EdgeCase[] = [];
  for (const s of samples) {
    const started = performance.now();
    const actual = predict(program, s.input);
    const ms = performance.now() - started;
    total += ms;
    max = Math.max(max, ms);
    if ((LABELS as readonly string[]).includes(actual)) decided++;
    const firing = actual === "warning" || actual === "critical";
    const positive = s.label !== "normal";
    if (actual === s.label) {
      passed++;
      if (positive) tp++;
    } else {
      if (firing) fp++;
      if (positive) fn++;
      if (edge.length < MAX_EDGE_CASES) edge.push({ input: s.input, expected: s.label, actual });
    }
  }
  const n = samples.length;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    coverage: n ? round4(decided / n) : 0,
    precision: round4(precision),
    recall: round4(recall),
    f1Score: precision + recall ? round4((2 * precision * recall) / (precision + recall)) : 0,
    testResults: {
      total_cases: n,
      passed,
      failed: n - passed,
      false_positives: fp,
      false_negatives: fn,
      edge_cases: edge,
      performance: { avg_execution_time_ms: n ? round4(total / n) : 0, max_execution_time_ms: round4(max) },
    },
  };
}

/** Compiles a candidate: the program, or why not (line and column). */
export function compileCandidate(script: string): { ok: true; program: Program } | { ok: false; error: string } {
  const c = compile(script);
  return c.ok ? c : { ok: false, error: `line ${c.error.line}, column ${c.error.column}: ${c.error.message}` };
}
