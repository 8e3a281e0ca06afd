import type { BinaryOp, Block, Expr, FnDef, Program, Span } from "./ast";
import { BUILTINS, checkInt, type BuiltinContext } from "./builtins";
import { binaryOp } from "./operators";
import { RhaiError, type Limits } from "./limits";
import { cloneValue, display, equals, Range, toJson, typeName, type Json, type RMap, type Value } from "./values";

/** One branch decision: an if / else-if condition evaluated, an else taken, a switch case matched. */
export interface TraceEntry {
  /** `L<line>:C<column>` of the condition (or `else`, or the case): stable for one script version. */
  branch: string;
  kind: "if" | "else if" | "else" | "case" | "default";
  /** The function the branch is in; null at the top level. */
  fn: string | null;
  /** Source text of the condition; `else` for an else; `<subject> => <case>` for a switch case. */
  condition: string;
  /** What the condition produced (for a switch case, the subject's value); null for an else. */
  value: Json;
  /** The branch's body ran. */
  taken: boolean;
  /** The branch of the same if-chain / switch that comes first is `chain`'s tier 0. */
  chain: string;
  tier: number;
  /** false for conditions evaluated only by analysis (after an earlier arm matched or a return). */
  reached: boolean;
  line: number;
  column: number;
}

class BreakSignal {
  constructor(readonly value: Value) {}
}
class ContinueSignal {}
class ReturnSignal {
  constructor(readonly value: Value) {}
}

class Scope {
  readonly vars = new Map<string, { v: Value; konst: boolean }>();
  constructor(readonly parent?: Scope) {}
  find(name: string): { v: Value; konst: boolean } | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const hit = s.vars.get(name);
      if (hit) return hit;
    }
    return undefined;
  }
  /** A detached deep copy, for analysis to evaluate conditions without touching the run. */
  snapshot(copy: (v: Value) => Value): Scope {
    const chain: Scope[] = [];
    for (let s: Scope | undefined = this; s; s = s.parent) chain.unshift(s);
    const out = new Scope();
    for (const s of chain) for (const [k, e] of s.vars) out.vars.set(k, { v: copy(e.v), konst: e.konst });
    return out;
  }
}

const pos = (s: Span) => ({ line: s.line, column: s.column });
const isObject = (v: Value) => Array.isArray(v) || v instanceof Map;

export interface RunOptions {
  limits: Limits;
  /** Record branch decisions. */
  trace?: TraceEntry[];
  /** Analysis: also evaluate the conditions a run skips (later arms, ifs after a return). */
  probe?: boolean;
}

/** Walks the AST. One instance per run: it holds the operation count and call depth. */
export class Interpreter {
  private ops = 0;
  private depth = 0;
  private fn: string | null = null;
  private at: Span | undefined;
  truncated = false;
  /** Deep copy charged to the operations budget, so copying cannot outrun the limit. */
  private readonly copy = (v: Value): Value => cloneValue(v, () => this.charge());
  private readonly ctx: BuiltinContext;

  constructor(
    private readonly program: Program,
    private readonly opts: RunOptions,
  ) {
    this.ctx = { limits: opts.limits, copy: this.copy };
  }

  callFunction(def: FnDef, args: Value[], at: Span): Value {
    const { limits } = this.opts;
    if (this.depth + 1 > limits.maxCallDepth) {
      throw new RhaiError("limit", `call depth exceeds the limit of ${limits.maxCallDepth} (runaway recursion in '${def.name}'?)`, pos(at));
    }
    const scope = new Scope();
    def.params.forEach((p, i) => scope.vars.set(p, { v: args[i] ?? null, konst: false }));
    const outer = this.fn;
    this.depth++;
    this.fn = def.name;
    try {
      return this.block(def.body, scope, false);
    } catch (s) {
      if (s instanceof ReturnSignal) return s.value;
      throw s;
    } finally {
      this.depth--;
      this.fn = outer;
    }
  }

  runMain(scope: Scope): Value {
    try {
      return this.block(this.program.main, scope, true);
    } catch (s) {
      if (s instanceof ReturnSignal) return s.value;
      throw s;
    }
  }

  static scopeOf(vars: Record<string, Value>): Scope {
    const s = new Scope();
    for (const [k, v] of Object.entries(vars)) s.vars.set(k, { v, konst: false });
    return s;
  }

  private tick(at: Span) {
    this.at = at;
    this.charge();
  }

  private charge() {
    if (++this.ops > this.opts.limits.maxOperations) {
      throw new RhaiError("limit", `more than ${this.opts.limits.maxOperations} operations (an endless loop?)`, this.at ? pos(this.at) : undefined);
    }
  }

  /** Arrays and maps are values in Rhai: storing one copies it unless it was just built. */
  private store(e: Expr, v: Value): Value {
    return isObject(v) && e.k !== "array" && e.k !== "map" ? this.copy(v) : v;
  }

  private block(b: Block, parent: Scope, sameScope: boolean): Value {
    const scope = sameScope ? parent : new Scope(parent);
    let last: Value = null;
    const stmts = b.stmts;
    for (const [i, s] of stmts.entries()) {
      try {
        last = this.eval(s, scope);
      } catch (s) {
        if (s instanceof ReturnSignal && this.opts.probe) this.probeRest(stmts.slice(i + 1), scope);
        throw s;
      }
    }
    return last;
  }

  eval(e: Expr, scope: Scope): Value {
    this.tick(e.span);
    switch (e.k) {
      case "lit":
        return e.v;
      case "var": {
        const hit = scope.find(e.name);
        if (!hit) throw new RhaiError("runtime", `variable '${e.name}' not found`, pos(e.span));
        return hit.v;
      }
      case "interp": {
        let s = "";
        for (const p of e.parts) {
          s += typeof p === "string" ? p : display(this.eval(p, scope));
          this.checkString(s, e.span);
        }
        return s;
      }
      case "array": {
        if (e.items.length > this.opts.limits.maxArrayLength) throw this.sizeError("array", e.items.length, e.span);
        return e.items.map((x) => this.store(x, this.eval(x, scope)));
      }
      case "map": {
        if (e.entries.length > this.opts.limits.maxMapSize) throw this.sizeError("map", e.entries.length, e.span);
        const m: RMap = new Map();
        for (const [k, x] of e.entries) m.set(k, this.store(x, this.eval(x, scope)));
        return m;
      }
      case "unary":
        return this.unary(e.op, this.eval(e.e, scope), e.span);
      case "bin":
        return this.binary(e.op, this.eval(e.l, scope), this.eval(e.r, scope), e.span);
      case "and":
      case "or": {
        const l = this.bool(this.eval(e.l, scope), `'${e.k === "and" ? "&&" : "||"}'`, e.l.span);
        if (e.k === "and" ? !l : l) return l;
        return this.bool(this.eval(e.r, scope), `'${e.k === "and" ? "&&" : "||"}'`, e.r.span);
      }
      case "coalesce": {
        const l = this.eval(e.l, scope);
        return l === null ? this.eval(e.r, scope) : l;
      }
      case "prop": {
        const o = this.eval(e.obj, scope);
        if (o === null && e.safe) return null;
        if (o instanceof Map) return o.get(e.name) ?? null;
        throw new RhaiError("type", `cannot read property '${e.name}' of a value of type ${typeName(o)}`, pos(e.span));
      }
      case "index": {
        const o = this.eval(e.obj, scope);
        if (o === null && e.safe) return null;
        return this.index(o, this.eval(e.idx, scope), e.span);
      }
      case "call":
        return this.call(e.name, e.args, scope, e.span);
      case "method": {
        const o = this.eval(e.obj, scope);
        if (o === null && e.safe) return null;
        if (e.name === "push") this.checkMutable(e.obj, scope);
        const args = [o, ...e.args.map((a) => this.eval(a, scope))];
        return this.builtin(e.name, args, e.span);
      }
      case "if":
        return this.ifChain(e, scope);
      case "switch":
        return this.switchExpr(e, scope);
      case "while":
        return this.loop(e.span, scope, e.body, () => this.bool(this.eval(e.cond, scope), "a 'while' condition", e.cond.span));
      case "loop":
        return this.loop(e.span, scope, e.body, () => true);
      case "for":
        return this.forLoop(e, scope);
      case "break":
        throw new BreakSignal(e.value ? this.eval(e.value, scope) : null);
      case "continue":
        throw new ContinueSignal();
      case "return":
        throw new ReturnSignal(e.value ? this.store(e.value, this.eval(e.value, scope)) : null);
      case "let":
        scope.vars.set(e.name, { v: e.init ? this.store(e.init, this.eval(e.init, scope)) : null, konst: e.konst });
        return null;
      case "assign":
        this.assign(e, scope);
        return null;
      case "block":
        return this.block(e, scope, false);
    }
  }

  private bool(v: Value, what: string, at: Span): boolean {
    if (typeof v !== "boolean") throw new RhaiError("type", `${what} needs a boolean, found ${typeName(v)}`, pos(at));
    return v;
  }

  private sizeError(what: "array" | "map", n: number, at: Span): RhaiError {
    const limit = what === "array" ? this.opts.limits.maxArrayLength : this.opts.limits.maxMapSize;
    return new RhaiError("limit", `${what} of ${n} ${what === "array" ? "items" : "properties"} is over the limit of ${limit}`, pos(at));
  }

  private checkString(s: string, at: Span) {
    if (s.length > this.opts.limits.maxStringLength) {
      throw new RhaiError("limit", `string grows past the limit of ${this.opts.limits.maxStringLength} characters`, pos(at));
    }
  }

  private call(name: string, argExprs: Expr[], scope: Scope, at: Span): Value {
    const def = this.program.fns.get(name);
    if (def) return this.callFunction(def, argExprs.map((a) => this.store(a, this.eval(a, scope))), at);
    if (name === "push" && argExprs[0]) this.checkMutable(argExprs[0], scope);
    return this.builtin(name, argExprs.map((a) => this.eval(a, scope)), at);
  }

  private builtin(name: string, args: Value[], at: Span): Value {
    try {
      return BUILTINS.get(name)!.call(args, this.ctx);
    } catch (err) {
      if (err instanceof RhaiError && err.pos.line === 0) throw new RhaiError(err.kind, err.message, pos(at));
      throw err;
    }
  }

  private checkMutable(target: Expr, scope: Scope) {
    let root = target;
    while (root.k === "prop" || root.k === "index") root = root.obj;
    if (root.k === "var" && scope.find(root.name)?.konst) {
      throw new RhaiError("runtime", `cannot change constant '${root.name}'`, pos(target.span));
    }
  }

  private index(o: Value, i: Value, at: Span): Value {
    if (Array.isArray(o)) {
      if (typeof i !== "bigint") throw new RhaiError("type", `an array index must be an integer, found ${typeName(i)}`, pos(at));
      const n = i < 0n ? BigInt(o.length) + i : i;
      if (n < 0n || n >= BigInt(o.length)) throw new RhaiError("runtime", `array index ${i} out of bounds for an array of ${o.length} items`, pos(at));
      return o[Number(n)] ?? null;
    }
    if (o instanceof Map) {
      if (typeof i !== "string") throw new RhaiError("type", `a map index must be a string, found ${typeName(i)}`, pos(at));
      return o.get(i) ?? null;
    }
    if (typeof o === "string") {
      if (typeof i !== "bigint") throw new RhaiError("type", `a string index must be an integer, found ${typeName(i)}`, pos(at));
      const chars = [...o];
      const n = i < 0n ? BigInt(chars.length) + i : i;
      if (n < 0n || n >= BigInt(chars.length)) throw new RhaiError("runtime", `string index ${i} out of bounds for a string of ${chars.length} characters`, pos(at));
      return chars[Number(n)] ?? null;
    }
    throw new RhaiError("type", `a value of type ${typeName(o)} cannot be indexed`, pos(at));
  }

  private assign(e: Extract<Expr, { k: "assign" }>, scope: Scope) {
    const t = e.target;
    this.checkMutable(t, scope);
    const rhs = this.store(e.value, this.eval(e.value, scope));
    const combine = (old: Value): Value => (e.op === "=" ? rhs : this.binary(e.op.slice(0, -1) as BinaryOp, old, rhs, e.span));
    if (t.k === "var") {
      const hit = scope.find(t.name);
      if (!hit) throw new RhaiError("runtime", `variable '${t.name}' not found`, pos(t.span));
      hit.v = combine(hit.v);
      return;
    }
    if (t.k === "prop") {
      const o = this.eval(t.obj, scope);
      if (!(o instanceof Map)) throw new RhaiError("type", `cannot set property '${t.name}' on a value of type ${typeName(o)}`, pos(t.span));
      this.mapSet(o, t.name, combine(o.get(t.name) ?? null), t.span);
      return;
    }
    if (t.k === "index") {
      const o = this.eval(t.obj, scope);
      const i = this.eval(t.idx, scope);
      if (o instanceof Map && typeof i === "string") {
        this.mapSet(o, i, combine(o.get(i) ?? null), t.span);
        return;
      }
      if (Array.isArray(o)) {
        this.index(o, i, t.span);
        const n = Number((i as bigint) < 0n ? BigInt(o.length) + (i as bigint) : (i as bigint));
        o[n] = combine(o[n] ?? null);
        return;
      }
      throw new RhaiError("type", `cannot assign into an index of a value of type ${typeName(o)}`, pos(t.span));
    }
  }

  private mapSet(m: RMap, k: string, v: Value, at: Span) {
    if (!m.has(k) && m.size + 1 > this.opts.limits.maxMapSize) throw this.sizeError("map", m.size + 1, at);
    m.set(k, v);
  }

  private loop(at: Span, scope: Scope, body: Block, cond: () => boolean): Value {
    for (;;) {
      this.tick(at);
      if (!cond()) return null;
      try {
        this.block(body, scope, false);
      } catch (s) {
        if (s instanceof BreakSignal) return s.value;
        if (!(s instanceof ContinueSignal)) throw s;
      }
    }
  }

  private forLoop(e: Extract<Expr, { k: "for" }>, scope: Scope): Value {
    const src = this.eval(e.iter, scope);
    let items: Iterable<Value>;
    if (Array.isArray(src)) items = src.slice();
    else if (src instanceof Range) items = rangeItems(src);
    else if (typeof src === "string") items = [...src];
    else throw new RhaiError("type", `cannot iterate over a value of type ${typeName(src)}`, pos(e.iter.span));
    let n = 0n;
    for (const item of items) {
      this.tick(e.span);
      const inner = new Scope(scope);
      inner.vars.set(e.name, { v: this.copy(item), konst: false });
      if (e.counter) inner.vars.set(e.counter, { v: n, konst: false });
      n++;
      try {
        this.block(e.body, inner, true);
      } catch (s) {
        if (s instanceof BreakSignal) return s.value;
        if (!(s instanceof ContinueSignal)) throw s;
      }
    }
    return null;
  }

  private record(entry: Omit<TraceEntry, "fn">) {
    const trace = this.opts.trace;
    if (!trace) return;
    if (trace.length >= this.opts.limits.maxTraceEntries) {
      this.truncated = true;
      return;
    }
    trace.push({ ...entry, fn: this.fn });
  }

  private ifChain(e: Extract<Expr, { k: "if" }>, scope: Scope): Value {
    const src = this.program.source;
    const chain = e.arms[0]?.id ?? "";
    for (const [tier, arm] of e.arms.entries()) {
      const base = { branch: arm.id, chain, tier, reached: true, line: arm.span.line, column: arm.span.column };
      if (!arm.cond) {
        if (this.opts.trace) this.record({ ...base, kind: "else", condition: "else", value: null, taken: true });
        return this.block(arm.body, scope, false);
      }
      const v = this.eval(arm.cond, scope);
      const ok = this.bool(v, "an 'if' condition", arm.cond.span);
      if (this.opts.trace) this.record({ ...base, kind: tier ? "else if" : "if", condition: src.slice(arm.cond.span.start, arm.cond.span.end), value: ok, taken: ok });
      if (ok) {
        if (this.opts.probe) this.probeArms(e, tier + 1, scope);
        return this.block(arm.body, scope, false);
      }
    }
    return null;
  }

  /** Analysis only: evaluates the conditions of arms a run skipped, in a copy of the scope. */
  private probeArms(e: Extract<Expr, { k: "if" }>, from: number, scope: Scope) {
    const copy = scope.snapshot(this.copy);
    for (const [tier, arm] of e.arms.entries()) {
      if (tier < from || !arm.cond) continue;
      const v = this.probeValue(arm.cond, copy);
      this.record({
        branch: arm.id, chain: e.arms[0]?.id ?? "", tier, reached: false, taken: false, line: arm.span.line, column: arm.span.column,
        kind: tier ? "else if" : "if", condition: this.program.source.slice(arm.cond.span.start, arm.cond.span.end), value: typeof v === "boolean" ? v : null,
      });
    }
  }

  /** Analysis only: after a `return`, the `let`s and `if`s that follow in the same block. */
  private probeRest(rest: Expr[], scope: Scope) {
    const copy = scope.snapshot(this.copy);
    for (const s of rest) {
      if (s.k === "let") copy.vars.set(s.name, { v: s.init ? this.probeValue(s.init, copy) : null, konst: s.konst });
      else if (s.k === "if") this.probeArms(s, 0, copy);
    }
  }

  private probeValue(e: Expr, scope: Scope): Value {
    const saved = this.ops;
    try {
      return this.eval(e, scope);
    } catch (err) {
      if (err instanceof RhaiError || err instanceof ReturnSignal || err instanceof BreakSignal || err instanceof ContinueSignal) return null;
      throw err;
    } finally {
      this.ops = saved;
    }
  }

  private switchExpr(e: Extract<Expr, { k: "switch" }>, scope: Scope): Value {
    const subject = this.eval(e.subject, scope);
    const subjectText = this.program.source.slice(e.subject.span.start, e.subject.span.end);
    const chain = e.cases[0]?.id ?? "";
    let taken = -1;
    for (const [tier, c] of e.cases.entries()) {
      const inProbe = taken >= 0;
      if (inProbe && !this.opts.probe) break;
      const matches = () => (!c.patterns.length || c.patterns.some((p) => this.matches(subject, this.eval(p, scope)))) && (!c.guard || this.bool(this.eval(c.guard, scope), "a switch case condition", c.guard.span));
      const ok = inProbe ? this.probeMatch(matches) : matches();
      if (!ok && !inProbe) continue;
      if (inProbe && !ok) continue;
      this.record({
        branch: c.id, chain, tier, kind: c.patterns.length ? "case" : "default", condition: `${subjectText} => ${c.text}`,
        value: safeJson(subject), taken: !inProbe, reached: !inProbe, line: c.span.line, column: c.span.column,
      });
      if (!inProbe) taken = tier;
    }
    const hit = e.cases[taken];
    return hit ? this.eval(hit.body, scope) : null;
  }

  private probeMatch(f: () => boolean): boolean {
    const saved = this.ops;
    try {
      return f();
    } catch {
      return false;
    } finally {
      this.ops = saved;
    }
  }

  private matches(subject: Value, pattern: Value): boolean {
    if (pattern instanceof Range) return typeof subject === "bigint" && pattern.contains(subject);
    return typeName(subject) === typeName(pattern) && equals(subject, pattern);
  }

  private unary(op: "-" | "+" | "!", v: Value, at: Span): Value {
    if (op === "!") return !this.bool(v, "'!'", at);
    if (typeof v === "bigint") return op === "-" ? checkInt(-v, `-(${v})`) : v;
    if (typeof v === "number") return op === "-" ? -v : v;
    throw new RhaiError("type", `unary '${op}' needs a number, found ${typeName(v)}`, pos(at));
  }

  binary(op: BinaryOp, a: Value, b: Value, at: Span): Value {
    try {
      return binaryOp(op, a, b, this.ctx);
    } catch (err) {
      if (err instanceof RhaiError && err.pos.line === 0) throw new RhaiError(err.kind, err.message, pos(at));
      throw err;
    }
  }
}

function* rangeItems(r: Range): Generator<Value> {
  const end = r.inclusive ? r.to + 1n : r.to;
  for (let i = r.from; i < end; i++) yield i;
}

function safeJson(v: Value): Json {
  try {
    return toJson(v);
  } catch {
    return display(v);
  }
}
