/** The spec's examples the Rhai tests and bench run (no test framework here: the bench imports it too). */

/** The §5.2 rule_scripts example, exactly as the spec writes it: the one the seed deploys. */
export { DEFECT_RATE_SCRIPT as SPEC_SCRIPT } from "../../scripts/lib/factory-seed";

/** The §4.1 input_data example. */
export const SPEC_INPUT = {
  line_code: "L01",
  shift: "day",
  date: "2025-01-26",
  metrics: { defect_rate: 0.073, production_qty: 1500, cycle_time_avg: 45.2, oee: 0.78 },
  context: { previous_defect_rate: 0.045, target_defect_rate: 0.05, shift_supervisor: "김철수" },
};
