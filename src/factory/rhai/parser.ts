import type { AssignOp, BinaryOp, Block, Expr, FnDef, IfArm, Program, Span, SwitchCase } from "./ast";
import { BUILTINS } from "./builtins";
import { tokenize, UNSUPPORTED_KEYWORDS, type Token } from "./lexer";
import { RhaiSyntaxError, type Limits } from "./limits";

// Rhai's binary precedences (tokenizer.rs); higher binds tighter, `**` binds to the right.
const PRECEDENCE: Record<string, number> = {
  "||": 30, "|": 30, "^": 30,
  "&&": 60, "&": 60,
  "==": 90, "!=": 90,
  in: 110, "!in": 110,
  "<": 130, "<=": 130, ">": 130, ">=": 130,
  "??": 135,
  "..": 140, "..=": 140,
  "+": 150, "-": 150,
  "*": 180, "/": 180, "%": 180,
  "**": 190,
  "<<": 210, ">>": 210,
};
const ASSIGN_OPS = new Set(["=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^="]);
/** Statements that end in a block need no `;` after them. */
const BLOCK_ENDED = new Set(["if", "switch", "while", "loop", "for", "block"]);

interface PendingCall {
  name: string;
  arity: number;
  span: Span;
}

/** Parses a whole script; throws RhaiSyntaxError at the first error. */
export function parse(source: string, limits: Pick<Limits, "maxExprDepth" | "maxSourceLength">): Program {
  if (source.length > limits.maxSourceLength) {
    throw new RhaiSyntaxError(`script is ${source.length} characters, over the limit of ${limits.maxSourceLength}`, { line: 1, column: 1 });
  }
  const fns = new Map<string, FnDef>();
  const fnOrder: string[] = [];
  const calls: PendingCall[] = [];
  const top = new Parser(tokenize(source), source, limits.maxExprDepth, calls);
  const stmts: Expr[] = [];
  const start = top.peek();
  while (!top.at("eof")) {
    if (top.isKw("fn")) {
      const fn = top.fnDef();
      if (fns.has(fn.name)) top.failAt(`function '${fn.name}' is defined twice (overloading by arity is not supported)`, fn.span);
      fns.set(fn.name, fn);
      fnOrder.push(fn.name);
      continue;
    }
    stmts.push(top.statement());
  }
  for (const c of calls) {
    const fn = fns.get(c.name);
    if (fn) {
      if (fn.params.length !== c.arity) top.failAt(`function '${c.name}' takes ${fn.params.length} argument(s), called with ${c.arity}`, c.span);
      continue;
    }
    const b = BUILTINS.get(c.name);
    if (!b) top.failAt(`unknown function '${c.name}'`, c.span);
    else if (!b.arity.includes(c.arity)) top.failAt(`function '${c.name}' takes ${b.arity.join(" or ")} argument(s), called with ${c.arity}`, c.span);
  }
  return { source, fns, fnOrder, main: { k: "block", stmts, span: top.spanFrom(start) } };
}

class Parser {
  private i = 0;
  private depth = 0;
  private inFn = false;
  /** Loops around the current position: `break` and `continue` need one. */
  private loops = 0;

  constructor(
    private readonly toks: Token[],
    private readonly src: string,
    private readonly maxDepth: number,
    private readonly calls: PendingCall[],
  ) {}

  peek(n = 0): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!;
  }
  at(type: Token["type"]): boolean {
    return this.peek().type === type;
  }
  isP(text: string, n = 0): boolean {
    const t = this.peek(n);
    return t.type === "punct" && t.text === text;
  }
  isKw(text: string): boolean {
    const t = this.peek();
    return t.type === "keyword" && t.text === text;
  }
  next(): Token {
    return this.toks[this.i++ < this.toks.length - 1 ? this.i - 1 : this.toks.length - 1]!;
  }
  failAt(message: string, at: { line: number; column: number }): never {
    throw new RhaiSyntaxError(message, { line: at.line, column: at.column });
  }
  private describe(t: Token): string {
    if (t.type === "eof") return t.text === "}" ? "'}'" : "the end of the script";
    if (t.type === "string" || t.type === "template") return "a string";
    return `'${this.src.slice(t.start, t.end)}'`;
  }
  private expectP(text: string, what = `'${text}'`): Token {
    if (!this.isP(text)) this.failAt(`expected ${what}, found ${this.describe(this.peek())}`, this.peek());
    return this.next();
  }
  private ident(what: string): string {
    const t = this.peek();
    if (t.type !== "ident") {
      if (t.type === "keyword" || UNSUPPORTED_KEYWORDS.has(t.text)) this.failAt(`'${t.text}' is a reserved word and cannot be ${what}`, t);
      this.failAt(`expected ${what}, found ${this.describe(t)}`, t);
    }
    if (UNSUPPORTED_KEYWORDS.has(t.text)) this.failAt(`'${t.text}' is a reserved word and cannot be ${what}`, t);
    return this.next().text;
  }
  spanFrom(t: Token): Span {
    const prev = this.toks[Math.max(this.i - 1, 0)]!;
    return { line: t.line, column: t.column, start: t.start, end: Math.max(prev.end, t.start) };
  }
  private nest<T>(at: Token, f: () => T): T {
    const limit = this.inFn ? Math.max(1, this.maxDepth >> 1) : this.maxDepth;
    if (++this.depth > limit) this.failAt(`nesting deeper than ${limit} levels (limit maxExprDepth${this.inFn ? ", halved inside functions" : ""})`, at);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  fnDef(): FnDef {
    const start = this.next();
    const name = this.ident("a function name");
    if (this.inFn) this.failAt("functions can only be defined at the top level", start);
    this.expectP("(");
    const params: string[] = [];
    while (!this.isP(")")) {
      const at = this.peek();
      const p = this.ident("a parameter name");
      if (params.includes(p)) this.failAt(`parameter '${p}' appears twice`, at);
      params.push(p);
      if (!this.isP(")")) this.expectP(",", "',' or ')'");
    }
    this.next();
    this.inFn = true;
    try {
      const body = this.block();
      return { name, params, body, span: this.spanFrom(start) };
    } finally {
      this.inFn = false;
    }
  }

  block(): Block {
    const start = this.expectP("{");
    return this.nest(start, () => {
      const stmts: Expr[] = [];
      while (!this.isP("}")) {
        if (this.at("eof")) this.failAt("expected '}' to close the block opened here", start);
        stmts.push(this.statement());
      }
      this.next();
      return { k: "block", stmts, span: this.spanFrom(start) } as Block;
    });
  }

  statement(): Expr {
    const t = this.peek();
    if (this.isP(";")) {
      this.next();
      return { k: "lit", v: null, span: this.spanFrom(t) };
    }
    if (this.isKw("fn")) this.failAt("functions can only be defined at the top level", t);
    if (t.type === "ident" && UNSUPPORTED_KEYWORDS.has(t.text) && !this.isP("(", 1)) this.failAt(`'${t.text}' is not part of the supported Rhai subset`, t);
    let s: Expr;
    if (this.isKw("let") || this.isKw("const")) {
      const konst = this.next().text === "const";
      const name = this.ident("a variable name");
      let init: Expr | undefined;
      if (this.isP("=")) {
        this.next();
        init = this.expr();
      } else if (konst) this.failAt(`constant '${name}' needs a value`, this.peek());
      s = { k: "let", name, init, konst, span: this.spanFrom(t) };
    } else if (this.isKw("return")) {
      this.next();
      const value = this.endsStatement() ? undefined : this.expr();
      s = { k: "return", value, span: this.spanFrom(t) };
    } else if (this.isKw("break")) {
      if (!this.loops) this.failAt("'break' outside a loop", t);
      this.next();
      const value = this.endsStatement() ? undefined : this.expr();
      s = { k: "break", value, span: this.spanFrom(t) };
    } else if (this.isKw("continue")) {
      if (!this.loops) this.failAt("'continue' outside a loop", t);
      this.next();
      s = { k: "continue", span: this.spanFrom(t) };
    } else if (this.isP("{")) {
      s = this.block();
    } else if (t.type === "keyword" && ["if", "switch", "while", "loop", "for"].includes(t.text)) {
      // At statement level these end at their closing brace: a following `-1` is a new statement.
      s = this.keywordExpr(t);
    } else {
      s = this.expr();
      if (this.peek().type === "punct" && ASSIGN_OPS.has(this.peek().text)) {
        const opTok = this.next();
        if (s.k !== "var" && s.k !== "prop" && s.k !== "index") this.failAt("the left side of an assignment must be a variable, a property or an index", s.span);
        if (hasSafeNav(s)) this.failAt("cannot assign through '?.' or '?['", s.span);
        const value = this.expr();
        s = { k: "assign", op: opTok.text as AssignOp, target: s, value, span: this.spanFrom(t) };
      }
    }
    if (this.isP(";")) this.next();
    else if (!this.isP("}") && !this.at("eof") && !BLOCK_ENDED.has(s.k)) {
      this.failAt(`expected ';' to end the statement, found ${this.describe(this.peek())}`, this.peek());
    }
    return s;
  }

  private endsStatement(): boolean {
    return this.isP(";") || this.isP("}") || this.at("eof");
  }

  expr(minPrec = 0): Expr {
    const start = this.peek();
    return this.nest(start, () => {
      let left = this.unary();
      for (;;) {
        const t = this.peek();
        const op = t.type === "punct" || (t.type === "keyword" && t.text === "in") ? t.text : "";
        const prec = PRECEDENCE[op];
        if (prec === undefined || prec <= minPrec) {
          if (op === "=" && minPrec > 0) this.failAt("'=' is an assignment, not an expression (did you mean '=='?)", t);
          return left;
        }
        this.next();
        const right = this.expr(op === "**" ? prec - 1 : prec);
        const span = { ...left.span, end: right.span.end, line: left.span.line, column: left.span.column };
        if (op === "&&") left = { k: "and", l: left, r: right, span };
        else if (op === "||") left = { k: "or", l: left, r: right, span };
        else if (op === "??") left = { k: "coalesce", l: left, r: right, span };
        else left = { k: "bin", op: op as BinaryOp, l: left, r: right, span };
      }
    });
  }

  private unary(): Expr {
    const t = this.peek();
    if (this.isP("-") || this.isP("+") || this.isP("!")) {
      this.next();
      const e = this.nest(t, () => this.unary());
      return { k: "unary", op: t.text as "-" | "+" | "!", e, span: this.spanFrom(t) };
    }
    return this.postfix(this.primary());
  }

  private postfix(e: Expr): Expr {
    const start = e.span;
    for (;;) {
      const t = this.peek();
      if (this.isP(".") || this.isP("?.")) {
        this.next();
        const safe = t.text === "?.";
        const nameTok = this.peek();
        const name = this.ident("a property or method name");
        if (this.isP("(")) {
          const args = this.args();
          if (!BUILTINS.get(name)?.method) this.failAt(`unknown method '${name}' (methods are the built-in functions that take a receiver)`, nameTok);
          const b = BUILTINS.get(name)!;
          if (!b.arity.includes(args.length + 1)) this.failAt(`method '${name}' takes ${b.arity.map((n) => n - 1).join(" or ")} argument(s), called with ${args.length}`, nameTok);
          e = { k: "method", obj: e, name, args, safe, span: this.spanSince(start) };
        } else e = { k: "prop", obj: e, name, safe, span: this.spanSince(start) };
      } else if (this.isP("[") || this.isP("?[")) {
        this.next();
        const idx = this.expr();
        this.expectP("]");
        e = { k: "index", obj: e, idx, safe: t.text === "?[", span: this.spanSince(start) };
      } else return e;
    }
  }

  private spanSince(s: Span): Span {
    return { ...s, end: this.toks[this.i - 1]!.end };
  }

  private args(): Expr[] {
    this.expectP("(");
    const args: Expr[] = [];
    while (!this.isP(")")) {
      args.push(this.expr());
      if (!this.isP(")")) this.expectP(",", "',' or ')'");
    }
    this.next();
    return args;
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case "int":
        this.next();
        return { k: "lit", v: t.int!, span: this.spanFrom(t) };
      case "float":
        this.next();
        return { k: "lit", v: t.float!, span: this.spanFrom(t) };
      case "string":
        this.next();
        return { k: "lit", v: t.text, span: this.spanFrom(t) };
      case "template":
        this.next();
        return { k: "interp", parts: t.parts!.map((p) => (typeof p === "string" ? p : this.sub(p, t))), span: this.spanFrom(t) };
      case "ident": {
        if (UNSUPPORTED_KEYWORDS.has(t.text)) this.failAt(`'${t.text}' is not part of the supported Rhai subset`, t);
        this.next();
        if (this.isP("::")) this.failAt("modules and namespaces ('::') are not part of the supported Rhai subset", this.peek());
        if (this.isP("(")) {
          const args = this.args();
          this.calls.push({ name: t.text, arity: args.length, span: this.spanFrom(t) });
          return { k: "call", name: t.text, args, span: this.spanFrom(t) };
        }
        return { k: "var", name: t.text, span: this.spanFrom(t) };
      }
      case "keyword":
        return this.keywordExpr(t);
      case "punct":
        if (t.text === "(") {
          this.next();
          if (this.isP(")")) {
            this.next();
            return { k: "lit", v: null, span: this.spanFrom(t) };
          }
          const e = this.expr();
          this.expectP(")");
          return e;
        }
        if (t.text === "[") {
          this.next();
          const items: Expr[] = [];
          while (!this.isP("]")) {
            items.push(this.expr());
            if (!this.isP("]")) this.expectP(",", "',' or ']'");
          }
          this.next();
          return { k: "array", items, span: this.spanFrom(t) };
        }
        if (t.text === "#{") return this.mapLiteral();
        if (t.text === "{") return this.block();
        break;
    }
    return this.failAt(`expected an expression, found ${this.describe(t)}`, t);
  }

  /** Parses the tokens of one `${…}` of a back-tick string. */
  private sub(toks: Token[], at: Token): Expr {
    const p = new Parser(toks, this.src, this.maxDepth, this.calls);
    p.depth = this.depth;
    p.inFn = this.inFn;
    p.loops = this.loops;
    if (p.at("eof")) this.failAt("empty ${} in a back-tick string", at);
    const e = p.expr();
    if (!p.at("eof")) p.failAt(`expected '}' to close \${, found ${p.describe(p.peek())}`, p.peek());
    return e;
  }

  private mapLiteral(): Expr {
    const start = this.next();
    const entries: [string, Expr][] = [];
    while (!this.isP("}")) {
      const kt = this.peek();
      let key: string;
      if (kt.type === "string" || kt.type === "ident" || kt.type === "keyword") key = this.next().text;
      else return this.failAt(`expected a property name, found ${this.describe(kt)}`, kt);
      if (entries.some(([k]) => k === key)) this.failAt(`property '${key}' appears twice in this map`, kt);
      this.expectP(":", "':' after the property name");
      entries.push([key, this.expr()]);
      if (!this.isP("}")) this.expectP(",", "',' or '}'");
    }
    this.next();
    return { k: "map", entries, span: this.spanFrom(start) };
  }

  private keywordExpr(t: Token): Expr {
    switch (t.text) {
      case "true":
      case "false":
        this.next();
        return { k: "lit", v: t.text === "true", span: this.spanFrom(t) };
      case "if":
        return this.ifExpr();
      case "switch":
        return this.switchExpr();
      case "while": {
        this.next();
        const cond = this.expr();
        return { k: "while", cond, body: this.loopBody(), span: this.spanFrom(t) };
      }
      case "loop":
        this.next();
        return { k: "loop", body: this.loopBody(), span: this.spanFrom(t) };
      case "for": {
        this.next();
        let name: string;
        let counter: string | undefined;
        if (this.isP("(")) {
          this.next();
          name = this.ident("a loop variable");
          this.expectP(",");
          counter = this.ident("a counter variable");
          this.expectP(")");
        } else name = this.ident("a loop variable");
        if (!this.isKw("in")) this.failAt(`expected 'in' after the loop variable, found ${this.describe(this.peek())}`, this.peek());
        this.next();
        const iter = this.expr();
        return { k: "for", name, counter, iter, body: this.loopBody(), span: this.spanFrom(t) };
      }
    }
    return this.failAt(`'${t.text}' cannot start an expression`, t);
  }

  private loopBody(): Block {
    this.loops++;
    try {
      return this.block();
    } finally {
      this.loops--;
    }
  }

  private ifExpr(): Expr {
    const start = this.peek();
    const arms: IfArm[] = [];
    for (;;) {
      this.next(); // `if`
      const c = this.peek();
      const cond = this.expr();
      if (this.isP("=")) this.failAt("'=' is an assignment, not a comparison (did you mean '=='?)", this.peek());
      const body = this.block();
      arms.push({ cond, body, id: `L${c.line}:C${c.column}`, span: cond.span });
      if (!this.isKw("else")) break;
      const e = this.next();
      if (this.isKw("if")) continue;
      const body2 = this.block();
      arms.push({ body: body2, id: `L${e.line}:C${e.column}`, span: this.spanFrom(e) });
      break;
    }
    return { k: "if", arms, span: this.spanFrom(start) };
  }

  private switchExpr(): Expr {
    const start = this.next();
    const subject = this.expr();
    this.expectP("{");
    const cases: SwitchCase[] = [];
    while (!this.isP("}")) {
      const ct = this.peek();
      const patterns: Expr[] = [];
      let guard: Expr | undefined;
      if (cases.length && cases[cases.length - 1]!.patterns.length === 0) this.failAt("the default case '_' must be the last case", ct);
      if (this.isP("_")) this.next();
      else {
        for (;;) {
          const p = this.expr(PRECEDENCE["|"]);
          if (!isLiteralPattern(p)) this.failAt("a switch case must be a literal value or a range of integer literals", p.span);
          patterns.push(p);
          if (!this.isP("|")) break;
          this.next();
        }
      }
      if (this.isKw("if")) {
        if (!patterns.length) this.failAt("the default case '_' cannot have a condition", this.peek());
        this.next();
        guard = this.expr();
      }
      const text = this.src.slice(ct.start, this.toks[this.i - 1]!.end);
      this.expectP("=>", "'=>'");
      const body = this.isP("{") ? this.block() : this.expr();
      cases.push({ patterns, guard, body, id: `L${ct.line}:C${ct.column}`, span: this.spanFrom(ct), text });
      if (this.isP("}")) break;
      if (this.isP(",")) this.next();
      else if (body.k !== "block") this.failAt(`expected ',' or '}' after a switch case, found ${this.describe(this.peek())}`, this.peek());
    }
    this.next();
    return { k: "switch", subject, cases, span: this.spanFrom(start) };
  }
}

function isLiteralPattern(e: Expr): boolean {
  switch (e.k) {
    case "lit":
      return true;
    case "unary":
      return e.op === "-" && e.e.k === "lit" && typeof e.e.v !== "string" && typeof e.e.v !== "boolean";
    case "bin":
      return (e.op === ".." || e.op === "..=") && isLiteralPattern(e.l) && isLiteralPattern(e.r);
    case "array":
      return e.items.every(isLiteralPattern);
    case "map":
      return e.entries.every(([, v]) => isLiteralPattern(v));
    default:
      return false;
  }
}

function hasSafeNav(e: Expr): boolean {
  if (e.k === "prop" || e.k === "index") return e.safe || hasSafeNav(e.obj);
  return false;
}
