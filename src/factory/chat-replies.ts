import { sql, type SQL } from "drizzle-orm";
import type { Classification, Kpi } from "./chat-intents";

/**
 * What the assistant answers to the intents it can serve from the tenant's data, computed inside
 * the turn's one statement (chat-turn.ts): `data` is a jsonb read of what the answer needs (kept
 * on the assistant message's metadata), `reply` the text made from it. Both may use the period
 * CTE `p` (start_d, end_d, tz, start_ts, end_ts) and `reply` the data CTE `d` (data). Answers are
 * in the language of the question. Templates: docs/factory-chat.md.
 */
export interface Reply {
  /** assistant metadata.action.type */
  action: string;
  data: SQL;
  reply: SQL;
}

const KPI_NAMES: Record<Kpi, { ko: string; en: string }> = {
  defect_rate: { ko: "불량률", en: "defect rate" },
  oee: { ko: "OEE", en: "OEE" },
  production_qty: { ko: "생산량", en: "production quantity" },
  cycle_time_avg: { ko: "평균 사이클 타임", en: "average cycle time" },
};

/** Higher is worse for these: a threshold counts the values above it; for the others, below it. */
const HIGHER_IS_WORSE: ReadonlySet<Kpi> = new Set(["defect_rate", "cycle_time_avg"]);
const RATES: ReadonlySet<Kpi> = new Set(["defect_rate", "oee"]);

/** A figure as text: rates in percent (7.30%), others with two decimals. */
const figure = (kpi: Kpi, value: SQL) => (RATES.has(kpi) ? sql`(to_char((${value})::numeric * 100, 'FM9999990.00') || '%')` : sql`to_char((${value})::numeric, 'FM999999990.##')`);

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
const range = sql`(to_char(p.start_d, 'YYYY-MM-DD') || ' ~ ' || to_char(p.end_d, 'YYYY-MM-DD'))`;
const inPeriod = (created: SQL) => sql`${created} >= p.start_ts and ${created} < p.end_ts`;
const onLine = (line: string | undefined) => (line ? sql`j.input_data @> ${JSON.stringify({ line_code: line })}::jsonb` : sql`true`);

/** query_defect_rate, check_oee, query_kpi: the KPI over the tenant's judgments of the period. */
export function kpiSummary(c: Classification): Reply {
  const kpi = c.slots.kpi ?? (c.intent === "check_oee" ? "oee" : "defect_rate");
  const line = c.slots.line_code;
  const threshold = c.slots.threshold ?? null;
  const beyond = HIGHER_IS_WORSE.has(kpi) ? sql`v.x > ${threshold}::float8` : sql`v.x < ${threshold}::float8`;
  const data = sql`(select jsonb_build_object(
      'kpi', ${kpi}::text, 'line_code', ${line ?? null}::text, 'threshold', ${threshold}::float8,
      'judgments', count(*), 'with_value', count(v.x),
      'avg', avg(v.x), 'min', min(v.x), 'max', max(v.x),
      'latest', (array_agg(jsonb_build_object('judgment_id', j.id, 'value', v.x, 'result', j.result, 'at', j.created_at) order by j.created_at desc) filter (where v.x is not null))[1],
      'critical', count(*) filter (where j.result = 'critical'), 'warning', count(*) filter (where j.result = 'warning'), 'normal', count(*) filter (where j.result = 'normal'),
      'beyond_threshold', case when ${threshold}::float8 is null then null else count(*) filter (where ${beyond}) end)
    from factory.judgment_executions j
    cross join lateral (select case when jsonb_typeof(j.input_data->'metrics'->${kpi}::text) = 'number' then (j.input_data->'metrics'->>${kpi}::text)::float8 end as x) v
    where j.tenant_id = factory.caller_tenant() and ${inPeriod(sql`j.created_at`)} and ${onLine(line)})`;
  const n = (key: string) => sql`(d.data->>${key})`;
  const f = (key: string) => figure(kpi, sql`(d.data->>${key})::float8`);
  const latest = figure(kpi, sql`(d.data->'latest'->>'value')::float8`);
  const where = c.lang === "ko" ? (line ?? "전체 라인") : (line ?? "all lines");
  const name = KPI_NAMES[kpi][c.lang];
  const thresholdText = threshold === null ? null : figure(kpi, sql`${threshold}::float8`);
  const reply =
    c.lang === "ko"
      ? sql`case when ${n("with_value")}::int = 0 then format('%s 기간에 %s의 %s 값이 있는 판단이 없습니다 (판단 %s건).', ${range}, ${where}::text, ${name}::text, ${n("judgments")})
          else format('%s %s (%s): 판단 %s건 중 값 %s건, 평균 %s (최저 %s, 최고 %s). 최근 값 %s (%s). 결과: critical %s, warning %s, normal %s.%s',
            ${where}::text, ${name}::text, ${range}, ${n("judgments")}, ${n("with_value")}, ${f("avg")}, ${f("min")}, ${f("max")}, ${latest}, d.data->'latest'->>'result',
            ${n("critical")}, ${n("warning")}, ${n("normal")},
            ${thresholdText === null ? sql`''` : sql`format(' 기준 %s ${sql.raw(HIGHER_IS_WORSE.has(kpi) ? "초과" : "미만")}: %s건.', ${thresholdText}, ${n("beyond_threshold")})`}) end`
      : sql`case when ${n("with_value")}::int = 0 then format('No judgments with a %s value on %s for %s (%s judgments).', ${name}::text, ${where}::text, ${range}, ${n("judgments")})
          else format('%s on %s, %s: %s of %s judgments carry a value; average %s (min %s, max %s). Latest %s (%s). Results: %s critical, %s warning, %s normal.%s',
            ${name}::text, ${where}::text, ${range}, ${n("with_value")}, ${n("judgments")}, ${f("avg")}, ${f("min")}, ${f("max")}, ${latest}, d.data->'latest'->>'result',
            ${n("critical")}, ${n("warning")}, ${n("normal")},
            ${thresholdText === null ? sql`''` : sql`format(' ${sql.raw(HIGHER_IS_WORSE.has(kpi) ? "Above" : "Below")} %s: %s.', ${thresholdText}, ${n("beyond_threshold")})`}) end`;
  return { action: "kpi_summary", data, reply };
}

const LISTED = 10;

/** list_critical_judgments: the newest critical judgments of the period (ten, and how many in all). */
export function criticalJudgments(c: Classification): Reply {
  const line = c.slots.line_code;
  const matching = sql`from factory.judgment_executions j where j.tenant_id = factory.caller_tenant() and j.result = 'critical' and ${inPeriod(sql`j.created_at`)} and ${onLine(line)}`;
  const data = sql`(select jsonb_build_object('line_code', ${line ?? null}::text, 'total', (select count(*) ${matching}), 'items', coalesce(jsonb_agg(x.item order by x.created_at desc), '[]'::jsonb))
    from (select j.created_at, jsonb_build_object('judgment_id', j.id, 'at', j.created_at, 'line_code', j.input_data->>'line_code', 'confidence', j.confidence, 'method_used', j.method_used, 'explanation', left(j.explanation, 200)) as item
          ${matching} order by j.created_at desc limit ${LISTED}) x)`;
  const lines = sql`(select string_agg(format(E'\n- %s %s: %s', to_char((e->>'at')::timestamptz at time zone p.tz, 'YYYY-MM-DD HH24:MI'), coalesce(e->>'line_code', '-'), coalesce(e->>'explanation', '')), '' order by ord)
    from jsonb_array_elements(d.data->'items') with ordinality as t(e, ord))`;
  const total = sql`(d.data->>'total')`;
  const where = c.lang === "ko" ? (line ? `${line} ` : "") : line ? ` on ${line}` : "";
  const reply =
    c.lang === "ko"
      ? sql`case when ${total}::int = 0 then format('%s %s 기간에 critical 판단이 없습니다.', ${where}::text, ${range})
          else format('%s%s 기간의 critical 판단 %s건 (최근 %s건):%s', ${where}::text, ${range}, ${total}, jsonb_array_length(d.data->'items'), ${lines}) end`
      : sql`case when ${total}::int = 0 then format('No critical judgments%s for %s.', ${where}::text, ${range})
          else format('Critical judgments%s for %s: %s (newest %s shown):%s', ${where}::text, ${range}, ${total}, jsonb_array_length(d.data->'items'), ${lines}) end`;
  return { action: "list_critical_judgments", data, reply };
}

/** A name match: the exact name (any case) first, else the first name containing it. */
export const byName = (column: SQL, name: string) => ({
  where: sql`(lower(${column}) = lower(${name}) or ${column} ilike ${`%${escapeLike(name)}%`})`,
  order: sql`(lower(${column}) = lower(${name})) desc, ${column}`,
});

/** explain_rule: the ruleset and a summary of its active script version (entry fn, conditions, results). */
export function explainRule(c: Classification): Reply {
  const name = c.slots.rule ?? "";
  const match = byName(sql`r.name`, name);
  const data = sql`(select jsonb_build_object('rule', ${name}::text, 'ruleset', (
      select jsonb_build_object('id', r.id, 'name', r.name, 'description', r.description, 'target_kpi', r.target_kpi, 'category', r.category, 'is_active', r.is_active,
        'active', (select jsonb_build_object('version', dep.version, 'deployed_at', dep.deployed_at, 'compile_status', s.compile_status,
              'lines', array_length(string_to_array(rtrim(s.script, E'\n'), E'\n'), 1),
              'entry', substring(s.script from 'fn\\s+[A-Za-z_][A-Za-z0-9_]*\\s*\\([^)]*\\)'),
              'conditions', (select jsonb_agg(trim(m[1])) from regexp_matches(s.script, '\\mif\\s+([^{]+?)\\s*\\{', 'g') as m),
              'results', (select jsonb_agg(distinct m[1]) from regexp_matches(s.script, 'result\\s*:\\s*"([A-Za-z_]+)"', 'g') as m))
            from factory.rule_deployments dep join factory.rule_scripts s on s.ruleset_id = dep.ruleset_id and s.version = dep.version
            where dep.ruleset_id = r.id and dep.status = 'active' order by dep.deployed_at desc nulls last limit 1))
      from factory.rulesets r where r.tenant_id = factory.caller_tenant() and ${match.where} order by ${match.order} limit 1)))`;
  const rs = (key: string) => sql`(d.data->'ruleset'->>${key})`;
  const act = (key: string) => sql`(d.data->'ruleset'->'active'->>${key})`;
  const conditions = sql`(select string_agg(x, ', ') from jsonb_array_elements_text(d.data->'ruleset'->'active'->'conditions') as x)`;
  const results = sql`(select string_agg(x, ', ') from jsonb_array_elements_text(d.data->'ruleset'->'active'->'results') as x)`;
  const reply =
    c.lang === "ko"
      ? sql`case when d.data->'ruleset' = 'null'::jsonb then format('"%s" 이름의 룰셋이 없습니다.', ${name}::text)
          when d.data->'ruleset'->'active' = 'null'::jsonb then format('룰셋 %s (KPI %s, %s): %s활성 배포된 버전이 없습니다.', ${rs("name")}, ${rs("target_kpi")}, coalesce(${rs("category")}, '분류 없음'), coalesce(${rs("description")} || '. ', ''))
          else format('룰셋 %s (KPI %s, %s): %s활성 버전 %s, 진입 함수 %s, %s줄. 조건: %s. 결과: %s.', ${rs("name")}, ${rs("target_kpi")}, coalesce(${rs("category")}, '분류 없음'), coalesce(${rs("description")} || '. ', ''),
            ${act("version")}, coalesce(${act("entry")}, '-'), ${act("lines")}, coalesce(${conditions}, '없음'), coalesce(${results}, '-')) end`
      : sql`case when d.data->'ruleset' = 'null'::jsonb then format('No ruleset is named "%s".', ${name}::text)
          when d.data->'ruleset'->'active' = 'null'::jsonb then format('Ruleset %s (KPI %s, %s): %sIt has no active version.', ${rs("name")}, ${rs("target_kpi")}, coalesce(${rs("category")}, 'no category'), coalesce(${rs("description")} || '. ', ''))
          else format('Ruleset %s (KPI %s, %s): %sActive version %s, entry %s, %s lines. Conditions: %s. Results: %s.', ${rs("name")}, ${rs("target_kpi")}, coalesce(${rs("category")}, 'no category'), coalesce(${rs("description")} || '. ', ''),
            ${act("version")}, coalesce(${act("entry")}, '-'), ${act("lines")}, coalesce(${conditions}, 'none'), coalesce(${results}, '-')) end`;
  return { action: "explain_rule", data, reply };
}

/** Help, for unknown: what the assistant can do, with an example of each. */
export function help(c: Classification): Reply {
  const text =
    c.lang === "ko"
      ? '요청을 이해하지 못했습니다. 할 수 있는 일: KPI 조회 ("L01 불량률 어때?", "어제 L02 OEE"), critical 판단 목록 ("어제 심각 판단 보여줘"), 판단 실행 ("L01 불량률 7.3% 판단해줘"), 룰 설명 ("defect 룰 설명해줘"), 워크플로우 실행 ("defect-response 워크플로우 L01 실행해줘").'
      : 'I did not understand that. I can: report a KPI ("L01 defect rate?", "OEE of L02 yesterday"), list critical judgments ("show critical judgments from yesterday"), run a judgment ("judge L01 defect rate 7.3%"), explain a rule ("explain rule defect"), and start a workflow ("run the defect-response workflow for L01").';
  return { action: "help", data: sql`'{}'::jsonb`, reply: sql`${text}::text` };
}

/** A reply made in code (a judgment that ran, a question back): its text and data as they are. */
export const fixedReply = (action: string, text: string, data: Record<string, unknown>): Reply => ({ action, data: sql`${JSON.stringify(data)}::jsonb`, reply: sql`${text}::text` });
