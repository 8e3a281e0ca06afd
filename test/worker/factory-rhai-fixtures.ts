/** The spec's examples the Rhai tests and bench run (no test framework here: the bench imports it too). */

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
