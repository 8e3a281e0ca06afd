import { expect } from "vitest";
import { compile, run, type Json, type Limits, type Program, type RunResult } from "../../src/factory/rhai";

/** The §5.2 rule_scripts example, exactly as the spec writes it. */
export const SPEC_SCRIPT = `// defect_rate 판단 룰
fn judge_defect_rate(metrics, context) {
  let defect_rate = metrics.defect_rate;
  let target = context.target_defect_rate ?? 0.05;

  if defect_rate > target * 1.5 {
    #{
      result: "critical",
      confidence: 1.0,
      explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 150% 초과\`,
      actions: ["alert_supervisor", "stop_line"]
    }
  } else if defect_rate > target * 1.2 {
    #{
      result: "warning",
      confidence: 0.9,
      explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 120% 초과\`,
      actions: ["notify_operator"]
    }
  } else {
    #{
      result: "normal",
      confidence: 1.0,
      explanation: "불량률 정상 범위"
    }
  }
}
`;

/** The §4.1 input_data example. */
export const SPEC_INPUT = {
  line_code: "L01",
  shift: "day",
  date: "2025-01-26",
  metrics: { defect_rate: 0.073, production_qty: 1500, cycle_time_avg: 45.2, oee: 0.78 },
  context: { previous_defect_rate: 0.045, target_defect_rate: 0.05, shift_supervisor: "김철수" },
};

export function compiled(source: string, limits?: Partial<Limits>): Program {
  const c = compile(source, limits);
  if (!c.ok) throw new Error(`compile failed: ${JSON.stringify(c.error)}`);
  return c.program;
}

/** Runs a script (its first fn, or its top level) and returns the value, failing the test on an error. */
export function value(source: string, args: Record<string, unknown> = {}, limits?: Partial<Limits>): Json {
  const r = run(compiled(source), null, args, limits);
  if (!r.ok) throw new Error(`run failed: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** Runs a script that must fail and returns its error. */
export function failure(source: string, args: Record<string, unknown> = {}, limits?: Partial<Limits>) {
  const r: RunResult = run(compiled(source, limits), null, args, limits);
  expect(r.ok, `expected ${source} to fail`).toBe(false);
  return (r as Extract<RunResult, { ok: false }>).error;
}

/** Compiles a script that must not compile and returns the error. */
export function syntaxError(source: string) {
  const c = compile(source);
  expect(c.ok, `expected ${source} not to compile`).toBe(false);
  return (c as Extract<ReturnType<typeof compile>, { ok: false }>).error;
}
