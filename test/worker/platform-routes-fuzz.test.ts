import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/platform/config";
import { createDatabase } from "../../src/platform/db";
import { call, testEnv, token, type CallResult } from "./helpers";

/**
 * The general property, for every operation /openapi.json lists (so a new route is fuzzed
 * without anyone adding it here): whatever the request, no 5xx, every 4xx is a problem, and a
 * refused request writes nothing. Requests are generated from each operation's own schemas
 * (a plausible valid request, then one defect at a time) with a seeded generator, so a failure
 * reproduces. Runs on a database of its own when the run has one (test/setup/global.ts), so the
 * row counts it compares move only with its own requests.
 */

const SEED = 0x5eed;
const CHUNK = 8;

const dedicated = testEnv.TEST_FUZZ_DB_URL !== undefined;
const fuzzEnv = {
  ...(dedicated ? { DB_URL: testEnv.TEST_FUZZ_DB_URL } : {}),
  // One admin sends thousands of requests: past the limiter, every one reaches validation.
  RATE_LIMIT_MAX: "1000000",
  AGENT_USER_REQUESTS_PER_MINUTE: "1000000",
};
/** The migrating role on the fuzz database: reads every row, row-level security aside. */
const privileged = dedicated ? createDatabase(loadConfig({ ...testEnv, DB_URL: testEnv.TEST_FUZZ_ADMIN_DB_URL }), "fuzz-privileged") : null;

/** mulberry32: small, seedable, good enough to pick defects. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T, int: (n: number) => Math.floor(next() * n) };
}

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  params: { name: string; in: "path" | "query"; required: boolean; schema: Schema }[];
  body?: { required: boolean; schema: Schema };
}

interface FuzzRequest {
  label: string;
  method: string;
  path: string;
  rawBody?: string;
  headers?: Record<string, string>;
}

const ADMIN_SUB = crypto.randomUUID();
const ORG = 4242;
let bearer = "";
let spec: Schema;
const seeded: Record<string, string> = {};

const api = (method: string, path: string, body?: unknown) => call(method, `/api/v1${path}`, { token: bearer, body, env: fuzzEnv });

async function seed(method: string, path: string, body?: unknown): Promise<any> {
  const res = await api(method, path, body);
  if (res.status >= 300) throw new Error(`seeding ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A few real rows per system, so routes with ids are fuzzed past their 404s. */
async function seedRows() {
  const today = new Date().toISOString().slice(0, 10);
  const student = await seed("POST", "/hub/students", { name: "Fuzz Student", schoolId: "FUZZ", grade: 5, metadata: { k: "v" } });
  const task = await seed("POST", "/hub/tasks", { studentId: student.id, taskType: "daily_report", scheduleType: "interval", intervalSeconds: 3600 });
  const intervention = await seed("POST", `/hub/students/${student.id}/interventions`, {
    type: "teacher_requested",
    weakAreas: [{ concept: "fractions" }],
    learningPath: [{ step: 1, activity: "review_concept" }],
  });
  await seed("POST", `/hub/students/${student.id}/events`, {
    events: [{ eventId: crypto.randomUUID(), eventType: "study", sourceNode: 1, content: { concept: "fractions" }, occurredAt: new Date().toISOString() }],
  });
  const room = await seed("POST", "/seedtest/classrooms", { name: "Fuzz room", orgId: ORG });
  const session = await seed("POST", "/seedtest/sessions", { classroomId: room.classroomId });
  await seed("PUT", "/seedtest/interest-goals/fuzz-topic", { interestLevel: 0.5 });
  await seed("PUT", `/seedtest/features/${ADMIN_SUB}/fuzz-topic/${today}`, { features: { accuracy: 0.5 } });
  const lab = await seed("POST", "/exam/sessions", {
    labId: crypto.randomUUID(),
    policyId: crypto.randomUUID(),
    level: "ASSOCIATE",
    engineType: "JUPYTER",
    mode: "PRACTICE",
  });
  await seed("PUT", "/exam/profile", { level: "ASSOCIATE", examDate: new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10), targetType: "HIGH_SCORE" });
  const plan = await seed("POST", "/exam/plans");
  const planTasks = await seed("GET", `/exam/plans/${plan.id}/tasks`);
  Object.assign(seeded, {
    "hub:students:id": student.id,
    "hub:tasks:id": task.id,
    "hub:interventions:id": intervention.id,
    "seedtest:classrooms:classroomId": room.classroomId,
    "seedtest:sessions:sessionId": session.sessionId,
    "seedtest:interest-goals:topicId": "fuzz-topic",
    "seedtest:features:userId": ADMIN_SUB,
    "seedtest:*:topicId": "fuzz-topic",
    "seedtest:*:date": today,
    "exam:sessions:id": lab.id,
    "exam:plans:id": plan.id,
    "exam:tasks:taskId": planTasks.items[0].id,
    "exam:steps:stepNo": "1",
    // Body fields that name rows: a valid-looking request should reach the handler's real path.
    "field:studentId": student.id,
    "field:classroomId": room.classroomId,
    "field:userId": ADMIN_SUB,
  });
}

function resolve(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  while (s.$ref) s = spec.components.schemas[s.$ref.split("/").pop()];
  return s;
}

/** The schema without its null alternative (zod writes nullable as anyOf [T, null]). */
function nonNull(schema: Schema): Schema {
  const s = resolve(schema);
  const alternatives = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (alternatives) return nonNull(alternatives.find((a) => resolve(a).type !== "null") ?? {});
  return s;
}

/** A value the schema probably accepts: the starting point the defects are applied to. */
function sample(schema: Schema, name = ""): unknown {
  const s = nonNull(schema);
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  if (s.default !== undefined) return s.default;
  if (seeded[`field:${name}`] && (s.type === "string" || s.type === undefined)) return seeded[`field:${name}`];
  switch (Array.isArray(s.type) ? s.type[0] : s.type) {
    case "string":
      if (s.format === "uuid") return crypto.randomUUID();
      if (s.format === "date-time") return new Date(Date.now() - 60_000).toISOString();
      if (s.format === "date") return new Date().toISOString().slice(0, 10);
      if (s.format === "email") return "fuzz@example.com";
      return "x".repeat(Math.max(1, Math.min(s.minLength ?? 1, 8)));
    case "integer":
    case "number":
      return Math.max(s.minimum ?? 1, Math.min(s.maximum ?? 1, 1));
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: s.minItems ?? 1 }, () => sample(s.items ?? {}));
    case "object": {
      // The required fields; all of them where none is required (a PATCH then changes something).
      const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
      const required = props.filter(([key]) => (s.required ?? []).includes(key));
      return Object.fromEntries((required.length ? required : props).map(([key, prop]) => [key, sample(prop, key)]));
    }
    default:
      return {};
  }
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const json = op.requestBody?.content?.["application/json"];
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Schema) => ({ name: p.name, in: p.in, required: !!p.required, schema: p.schema ?? {} })),
        body: json ? { required: !!op.requestBody.required, schema: json.schema } : undefined,
      });
    }
  }
  // Deletes last: the seeded rows stay for every other operation.
  return ops.sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
}

function realParam(path: string, name: string): string | undefined {
  const segments = path.split("/");
  const system = segments[3];
  const before = segments[segments.indexOf(`{${name}}`) - 1];
  return seeded[`${system}:${before}:${name}`] ?? seeded[`${system}:*:${name}`];
}

/** base64url of UTF-8 JSON, built here rather than with the code under test. */
function encodeCursor(key: unknown): string {
  const binary = String.fromCharCode(...new TextEncoder().encode(JSON.stringify(key)));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const deepJson = (levels: number) => `${'{"d":'.repeat(levels)}1${"}".repeat(levels)}`;
const NUL = "\u0000";
const HUGE = "y".repeat(200_000);

/** Bad path values and bad query values: what a client or an attacker might put there. */
const BAD_IDS = ["not-an-id", "%00", `a%00b`, "x".repeat(300), "%F0%9F%99%82", "-1", "99999999999999999999", "%27%3B--", "..%2F..", "0"];
const BAD_QUERY = ["abc", "%00", `1%00`, "-1", "1e309", "99999999999999999999", "%F0%9F%99%82", "", "z".repeat(5000), "%7B%22a%22%3A%7B%7D%7D", "true", "null"];
const BAD_CURSORS = [
  "garbage",
  "%00",
  encodeCursor(["2026-01-01T00:00:00.000000Z", `x${NUL}`]),
  encodeCursor(["2026-01-01 00:00:00", crypto.randomUUID()]) + "==",
  encodeCursor([`2026-01-01 00:00:00${NUL}`, crypto.randomUUID()]),
  encodeCursor({ t: "2026-01-01T00:00:00.000000Z", i: crypto.randomUUID(), extra: 1 }),
  encodeCursor(JSON.parse(deepJson(100))),
  encodeCursor(["🙂", "🙂"]),
  btoa("[1,2]  "),
  "A".repeat(600),
];

/** Random JSON: the generator's free-for-all defect. */
function randomJson(rng: ReturnType<typeof generator>, depth = 0): unknown {
  const kind = rng.int(depth > 3 ? 5 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.pick([0, -1, 1.5, 2 ** 31, -(2 ** 53), 1e308, Number.MIN_VALUE]);
    case 2:
      return rng.pick([true, false]);
    case 3:
      return rng.pick(["", NUL, "🙂", "a".repeat(1 + rng.int(3000)), "2026-13-45", "' or 1=1 --", "\uD800", crypto.randomUUID()]);
    case 4:
      return rng.pick([[], {}, [NUL], { [NUL]: 1 }]);
    case 5:
      return Array.from({ length: 1 + rng.int(3) }, () => randomJson(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: 1 + rng.int(3) }, (_, i) => [`k${i}`, randomJson(rng, depth + 1)]));
  }
}

function wrongType(schema: Schema): unknown {
  switch (nonNull(schema).type) {
    case "string":
      return 12345;
    case "integer":
    case "number":
      return "12";
    case "boolean":
      return "true";
    case "array":
      return { not: "an array" };
    default:
      return "not an object";
  }
}

function fill(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] as string);
}

function query(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** One operation's requests: the plausible one, then one defect at a time. */
function requestsFor(op: Operation, rng: ReturnType<typeof generator>): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  const pathParams = op.params.filter((p) => p.in === "path");
  const queryParams = op.params.filter((p) => p.in === "query");
  const validParams = Object.fromEntries(pathParams.map((p) => [p.name, realParam(op.path, p.name) ?? encodeURIComponent(String(sample(p.schema)))]));
  const validQuery = Object.fromEntries(queryParams.filter((p) => p.required).map((p) => [p.name, encodeURIComponent(String(sample(p.schema)))]));
  const base = op.body ? (sample(op.body.schema) as Record<string, unknown>) : undefined;
  const bodyText = (body: unknown) => JSON.stringify(body);
  const make = (label: string, over: Partial<FuzzRequest> & { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {}): FuzzRequest => {
    const body = "body" in over ? over.body : base;
    return {
      label: `${op.method} ${op.path} ${label}`,
      method: op.method,
      path: `${fill(op.path, over.params ?? validParams)}${query(over.query ?? validQuery)}`,
      rawBody: over.rawBody ?? (body === undefined ? undefined : bodyText(body)),
      headers: over.headers ?? (body === undefined && over.rawBody === undefined ? {} : { "Content-Type": "application/json" }),
    };
  };

  out.push(make("as generated"));
  for (const p of pathParams) {
    for (const bad of BAD_IDS) out.push(make(`path ${p.name}=${bad.slice(0, 20)}`, { params: { ...validParams, [p.name]: bad } }));
  }
  for (const p of queryParams) {
    const values = p.name === "cursor" ? [...BAD_CURSORS, ...BAD_QUERY.slice(0, 3)] : BAD_QUERY;
    for (const bad of values) out.push(make(`query ${p.name}=${bad.slice(0, 20)}`, { query: { ...validQuery, [p.name]: bad } }));
  }
  out.push(make("query duplicated", { query: { ...validQuery, limit: "1&limit=2&limit=%00" } }));

  if (op.body) {
    const props = Object.entries((nonNull(op.body.schema).properties ?? {}) as Record<string, Schema>);
    const object = base && typeof base === "object" ? base : {};
    for (const [key, prop] of props) {
      out.push(make(`body ${key}: wrong type`, { body: { ...object, [key]: wrongType(prop) } }));
      out.push(make(`body ${key}: null`, { body: { ...object, [key]: null } }));
      out.push(make(`body ${key}: NUL`, { body: { ...object, [key]: `a${NUL}b` } }));
      out.push(make(`body ${key}: huge`, { body: { ...object, [key]: HUGE } }));
      out.push(make(`body ${key}: NUL key`, { body: { ...object, [key]: { [`k${NUL}`]: 1, nested: [{ [NUL]: NUL }] } } }));
      out.push(make(`body ${key}: deep`, { rawBody: `{${Object.entries(object).filter(([k]) => k !== key).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`).join("")}${JSON.stringify(key)}:${deepJson(rng.pick([40, 10_000]))}}` }));
      out.push(make(`body ${key}: random`, { body: { ...object, [key]: randomJson(rng) } }));
      if (key in object) {
        const { [key]: _, ...missing } = object;
        out.push(make(`body ${key}: missing`, { body: missing }));
      }
    }
    out.push(make("body: extra field", { body: { ...object, zzExtra: "extra" } }));
    out.push(make("body: {}", { body: {} }));
    for (const body of [null, [], "text", 42, [object]]) out.push(make(`body: ${JSON.stringify(body)}`, { body }));
    out.push(make("body: deep document", { rawBody: deepJson(10_000) }));
    out.push(make("body: malformed", { rawBody: '{"a":', headers: { "Content-Type": "application/json" } }));
    out.push(make("body: empty JSON", { rawBody: "", headers: { "Content-Type": "application/json" } }));
    out.push(make("body: text/plain", { rawBody: bodyText(object), headers: { "Content-Type": "text/plain" } }));
    out.push(make("body: no Content-Type", { rawBody: bodyText(object), headers: {} }));
    out.push(make("body: form", { rawBody: "a=1&b=2", headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
    out.push(make("body: random document", { body: randomJson(rng) }));
  } else if (op.method !== "GET" && op.method !== "DELETE") {
    out.push(make("unexpected JSON body", { rawBody: '{"unexpected":true}', headers: { "Content-Type": "application/json" } }));
    out.push(make("unexpected text body", { rawBody: "hello", headers: { "Content-Type": "text/plain" } }));
  }
  return out;
}

/** Row counts of every table of the systems' schemas and the outbox, in one statement. */
let countQuery: string;
async function prepareCounts() {
  const { rows } = await privileged!.execute<{ t: string }>(sql`
    select format('%I.%I', table_schema, table_name) as t from information_schema.tables
    where table_schema in ('exam', 'hub', 'archive', 'seedtest', 'app') and table_type = 'BASE TABLE' order by 1`);
  countQuery = `select json_build_object(${rows.map((r) => `'${r.t}', (select count(*) from ${r.t})`).join(", ")}) as counts`;
}
async function counts(): Promise<Record<string, number>> {
  const { rows } = await privileged!.execute<{ counts: Record<string, number> }>(sql.raw(countQuery));
  return rows[0]!.counts;
}

const writes = (method: string, status: number) => method !== "GET" && status >= 200 && status < 300;

async function send(r: FuzzRequest): Promise<CallResult> {
  return call(r.method, r.path, { token: bearer, rawBody: r.rawBody, headers: r.headers, env: fuzzEnv });
}

function problemsIn(r: FuzzRequest, res: CallResult): string[] {
  const where = `${r.label} → ${res.status}`;
  if (res.status >= 500) return [`${where} ${JSON.stringify(res.body).slice(0, 300)}`];
  if (res.status >= 400) {
    const type = res.headers.get("Content-Type") ?? "";
    if (!type.startsWith("application/problem+json")) return [`${where}: ${type}, not a problem: ${String(JSON.stringify(res.body)).slice(0, 200)}`];
    if (res.body?.status !== res.status || typeof res.body?.code !== "string") return [`${where}: incomplete problem ${JSON.stringify(res.body).slice(0, 200)}`];
  }
  return [];
}

function changed(before: Record<string, number>, after: Record<string, number>): string[] {
  return Object.keys(after).filter((t) => after[t] !== before[t]).map((t) => `${t} ${before[t]} → ${after[t]}`);
}

describe("fuzzing every operation of /openapi.json", () => {
  beforeAll(async () => {
    bearer = await token({ sub: ADMIN_SUB, roles: ["admin"], tenant_id: String(ORG) });
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    spec = doc.body;
    await seedRows();
    if (dedicated) await prepareCounts();
  }, 60_000);

  it("never answers 5xx, answers every 4xx with a problem, and writes nothing it refused", async () => {
    const rng = generator(SEED);
    const ops = operations();
    const requests = ops.flatMap((op) => requestsFor(op, rng));
    console.log(`[fuzz] ${ops.length} operations, ${requests.length} requests (seed ${SEED}, ${dedicated ? "own database" : "shared database"})`);
    expect(ops.length).toBeGreaterThan(40);

    const failures: string[] = [];
    const recheck: FuzzRequest[] = [];
    const statuses: Record<number, number> = {};
    // Row counts only tell on a database no other test file writes to (see test/setup/global.ts).
    const snapshot = () => (dedicated ? counts() : Promise.resolve({}));
    for (let i = 0; i < requests.length; i += CHUNK) {
      const chunk = requests.slice(i, i + CHUNK);
      const before = await snapshot();
      const results = await Promise.all(chunk.map(send));
      const after = await snapshot();
      chunk.forEach((r, j) => failures.push(...problemsIn(r, results[j]!)));
      for (const res of results) statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const wrote = chunk.some((r, j) => writes(r.method, results[j]!.status));
      // A chunk where something succeeded cannot tell whose rows moved: its refused requests go again, alone.
      if (wrote) recheck.push(...chunk.filter((r, j) => !writes(r.method, results[j]!.status) && r.method !== "GET"));
      else failures.push(...changed(before, after).map((c) => `refused chunk at ${chunk[0]!.label} wrote: ${c}`));
    }
    for (const r of dedicated ? recheck : []) {
      const before = await snapshot();
      const res = await send(r);
      const after = await snapshot();
      if (!writes(r.method, res.status)) failures.push(...changed(before, after).map((c) => `${r.label} → ${res.status} wrote: ${c}`));
    }
    console.log(`[fuzz] statuses ${JSON.stringify(statuses)}; ${dedicated ? `${recheck.length} refused writes rechecked alone` : "row counts not compared (no database of its own)"}`);
    expect(failures, failures.slice(0, 40).join("\n")).toEqual([]);
  }, 180_000);
});
