import type { Value } from "./values";

/** Where a node starts (1-based line and column) and its source range [start, end). */
export interface Span {
  line: number;
  column: number;
  start: number;
  end: number;
}

export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "**" | "<<" | ">>" | "&" | "|" | "^"
  | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "!in" | ".." | "..=";

export type AssignOp = "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "**=" | "<<=" | ">>=" | "&=" | "|=" | "^=";

/** One arm of an if / else-if chain: `cond` is absent for the final `else`. */
export interface IfArm {
  cond?: Expr;
  body: Block;
  /** The branch's id: `L<line>:C<column>` of its condition, or of the `else` keyword. */
  id: string;
  span: Span;
}

export interface SwitchCase {
  /** Literal values or ranges; empty for the default `_`. */
  patterns: Expr[];
  guard?: Expr;
  body: Expr;
  id: string;
  span: Span;
  /** Source text of the case before `=>`, e.g. `1 | 2 if x > 3`. */
  text: string;
}

export interface Block {
  k: "block";
  stmts: Expr[];
  span: Span;
}

/** Statements are expressions too: a block's value is its last statement's value. */
export type Expr = (
  | { k: "lit"; v: Value }
  | { k: "var"; name: string }
  | { k: "interp"; parts: (string | Expr)[] }
  | { k: "array"; items: Expr[] }
  | { k: "map"; entries: [string, Expr][] }
  | { k: "unary"; op: "-" | "+" | "!"; e: Expr }
  | { k: "bin"; op: BinaryOp; l: Expr; r: Expr }
  | { k: "and" | "or" | "coalesce"; l: Expr; r: Expr }
  | { k: "prop"; obj: Expr; name: string; safe: boolean }
  | { k: "index"; obj: Expr; idx: Expr; safe: boolean }
  | { k: "call"; name: string; args: Expr[] }
  | { k: "method"; obj: Expr; name: string; args: Expr[]; safe: boolean }
  | { k: "if"; arms: IfArm[] }
  | { k: "switch"; subject: Expr; cases: SwitchCase[] }
  | { k: "while"; cond: Expr; body: Block }
  | { k: "loop"; body: Block }
  | { k: "for"; name: string; counter?: string; iter: Expr; body: Block }
  | { k: "break"; value?: Expr }
  | { k: "continue" }
  | { k: "return"; value?: Expr }
  | { k: "let"; name: string; init?: Expr; konst: boolean }
  | { k: "assign"; op: AssignOp; target: Expr; value: Expr }
  | Block
) & { span: Span };

export interface FnDef {
  name: string;
  params: string[];
  body: Block;
  span: Span;
}

/** A compiled script: its functions by name and its top-level statements. */
export interface Program {
  source: string;
  fns: Map<string, FnDef>;
  /** Function names in source order. */
  fnOrder: string[];
  main: Block;
}
