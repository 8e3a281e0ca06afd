import type { Expr, Program } from "./ast";

/** The direct sub-expressions of a node, in source order. */
export function children(e: Expr): Expr[] {
  switch (e.k) {
    case "lit":
    case "var":
    case "continue":
      return [];
    case "interp":
      return e.parts.filter((p): p is Expr => typeof p !== "string");
    case "array":
      return e.items;
    case "map":
      return e.entries.map(([, v]) => v);
    case "unary":
      return [e.e];
    case "bin":
    case "and":
    case "or":
    case "coalesce":
      return [e.l, e.r];
    case "prop":
      return [e.obj];
    case "index":
      return [e.obj, e.idx];
    case "call":
      return e.args;
    case "method":
      return [e.obj, ...e.args];
    case "if":
      return e.arms.flatMap((a) => (a.cond ? [a.cond, a.body] : [a.body]));
    case "switch":
      return [e.subject, ...e.cases.flatMap((c) => [...c.patterns, ...(c.guard ? [c.guard] : []), c.body])];
    case "while":
      return [e.cond, e.body];
    case "loop":
      return [e.body];
    case "for":
      return [e.iter, e.body];
    case "break":
    case "return":
      return e.value ? [e.value] : [];
    case "let":
      return e.init ? [e.init] : [];
    case "assign":
      return [e.target, e.value];
    case "block":
      return e.stmts;
  }
}

/** Visits every node under `e` (pre-order); `fn` is the enclosing function's name or null. */
export function walk(e: Expr, visit: (e: Expr) => void): void {
  const stack: Expr[] = [e];
  while (stack.length) {
    const x = stack.pop()!;
    visit(x);
    const kids = children(x);
    for (const k of [...kids].reverse()) stack.push(k);
  }
}

/** Every function body and the top level, with the function's name (null for the top level). */
export function bodies(program: Program): { fn: string | null; body: Expr; params: string[] }[] {
  return [
    ...program.fnOrder.map((name) => ({ fn: name as string | null, body: program.fns.get(name)!.body as Expr, params: program.fns.get(name)!.params })),
    { fn: null, body: program.main, params: [] },
  ];
}
