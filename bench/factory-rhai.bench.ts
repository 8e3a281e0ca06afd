import { compile, run, trace } from "../src/factory/rhai";
import { SPEC_INPUT, SPEC_SCRIPT } from "../test/worker/factory-rhai-fixtures";
import type { BenchContext } from "./harness";

/**
 * The Rhai interpreter alone (no Worker, no database): evaluations per second of the §5.2 script
 * on the §4.1 input, in this Node process (V8, as workerd). Compiling is measured apart because
 * the judgment service compiles a script version once and keeps the program.
 */
export default async function (_ctx: BenchContext) {
  const compiled = compile(SPEC_SCRIPT);
  if (!compiled.ok) throw new Error(`the §5.2 script does not compile: ${compiled.error.message}`);
  const program = compiled.program;
  const inputs = [0.073, 0.09, 0.01].map((defect_rate) => ({ ...SPEC_INPUT, metrics: { ...SPEC_INPUT.metrics, defect_rate } }));

  // Two passes, the first unprinted: V8 optimises the interpreter before anything is timed.
  for (const print of [false, true]) {
    const rate = (name: string, n: number, f: (i: number) => unknown) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) f(i);
      const ms = performance.now() - start;
      if (print) console.log(`${name.padEnd(34)} ${Math.round((n / ms) * 1000).toLocaleString("en-US").padStart(10)} /s   ${((ms * 1000) / n).toFixed(2)} µs each`);
    };
    rate("rhai: run §5.2 (compiled once)", 200_000, (i) => {
      const r = run(program, null, inputs[i % 3]!);
      if (!r.ok) throw new Error(r.error.message);
    });
    rate("rhai: trace §5.2 (rule_trace)", 200_000, (i) => trace(program, null, inputs[i % 3]!));
    rate("rhai: compile §5.2", 20_000, () => compile(SPEC_SCRIPT));
  }
}
