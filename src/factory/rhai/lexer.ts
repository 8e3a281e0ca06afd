import { RhaiSyntaxError, type Position } from "./limits";

/** A back-tick string: literal text and, for each `${…}`, the tokens inside it. */
export type TemplatePart = string | Token[];

export interface Token {
  type: "ident" | "keyword" | "int" | "float" | "string" | "template" | "punct" | "eof";
  /** Identifier, keyword or punctuation text; the decoded text of a string. */
  text: string;
  int?: bigint;
  float?: number;
  parts?: TemplatePart[];
  /** Offsets into the source: [start, end). */
  start: number;
  end: number;
  line: number;
  column: number;
}

const KEYWORDS = new Set([
  "let", "const", "fn", "if", "else", "switch", "while", "loop", "for", "in", "break", "continue", "return", "true", "false",
]);
/** Rhai keywords outside the subset: rejected by name so the error says so. */
export const UNSUPPORTED_KEYWORDS = new Set([
  "do", "until", "throw", "try", "catch", "import", "export", "as", "private", "this", "global", "Fn", "call", "curry", "eval", "print", "debug",
]);

// Longest first, so `..=` wins over `..` and `..` over `.`.
const PUNCT = [
  "..=", "**=", "<<=", ">>=", "!in",
  "#{", "?.", "?[", "??", "..", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>", "=>", "::",
  "+", "-", "*", "/", "%", "<", ">", "=", "!", "(", ")", "{", "}", "[", "]", ",", ";", ":", ".", "&", "|", "^", "_",
];

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string) => /[A-Za-z0-9_]/.test(c);
const I64_MAX = (1n << 63n) - 1n;

/** Splits Rhai source into tokens; line and column are 1-based. */
export function tokenize(src: string): Token[] {
  let i = 0;
  let line = 1;
  let col = 1;

  const pos = (): Position => ({ line, column: col });
  const fail = (message: string, at: Position = pos()): never => {
    throw new RhaiSyntaxError(message, at);
  };
  const advance = (n = 1) => {
    for (let k = 0; k < n; k++) {
      if (src[i] === "\n") {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };

  const skipTrivia = () => {
    for (;;) {
      const c = src[i];
      if (c === " " || c === "\t" || c === "\r" || c === "\n") advance();
      else if (c === "/" && src[i + 1] === "/") while (i < src.length && src[i] !== "\n") advance();
      else if (c === "/" && src[i + 1] === "*") {
        // Rhai block comments nest.
        const at = pos();
        let depth = 0;
        do {
          if (i >= src.length) fail("unterminated block comment", at);
          if (src[i] === "/" && src[i + 1] === "*") {
            depth++;
            advance(2);
          } else if (src[i] === "*" && src[i + 1] === "/") {
            depth--;
            advance(2);
          } else advance();
        } while (depth > 0);
      } else return;
    }
  };

  const escape = (quote: string): string => {
    const at = pos();
    advance(); // the backslash
    const c = src[i];
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", "`": "`", "0": "\0", $: "$" };
    if (c !== undefined && c in simple) {
      advance();
      return simple[c]!;
    }
    const width = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
    if (!width) return fail(`unknown escape sequence \\${c ?? ""} in ${quote}-quoted text`, at);
    const hex = src.slice(i + 1, i + 1 + width);
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) fail(`\\${c} needs ${width} hex digits`, at);
    advance(1 + width);
    const code = parseInt(hex, 16);
    if (code > 0x10ffff) fail(`\\${c}${hex} is not a Unicode code point`, at);
    return String.fromCodePoint(code);
  };

  const number = (tok: Token) => {
    const rest = src.slice(i);
    const radix = /^0[xob]/.exec(rest);
    if (radix) {
      const m = /^0([xob])([0-9a-fA-F_]+)/.exec(rest);
      if (!m) fail("malformed number literal");
      const digits = (m![2] ?? "").replace(/_/g, "");
      const prefix = m![1] === "x" ? "0x" : m![1] === "o" ? "0o" : "0b";
      let v: bigint;
      try {
        v = BigInt(prefix + digits);
      } catch {
        return fail(`malformed number literal ${m![0]}`);
      }
      if (v > I64_MAX) fail(`integer literal ${m![0]} exceeds the 64-bit range`);
      advance(m![0].length);
      tok.type = "int";
      tok.int = v;
      return;
    }
    // A `.` followed by a digit continues a float; `1..5` is a range and `1.max(2)` a method call.
    const m = /^[0-9][0-9_]*(\.[0-9][0-9_]*|\.(?![.A-Za-z_]))?([eE][+-]?[0-9]+)?/.exec(rest)!;
    const text = m[0].replace(/_/g, "");
    advance(m[0].length);
    if (m[1] !== undefined || m[2] !== undefined) {
      tok.type = "float";
      tok.float = Number(text.endsWith(".") ? text.slice(0, -1) : text);
    } else {
      const v = BigInt(text);
      if (v > I64_MAX) fail(`integer literal ${text} exceeds the 64-bit range`, { line: tok.line, column: tok.column });
      tok.type = "int";
      tok.int = v;
    }
  };

  /** Tokens up to the end, or (inside `${`) up to the brace that closes it. */
  const run = (inTemplate: boolean): Token[] => {
    const out: Token[] = [];
    let depth = 0;
    for (;;) {
      skipTrivia();
      const tok: Token = { type: "punct", text: "", start: i, end: i, line, column: col };
      if (i >= src.length) {
        if (inTemplate) fail("unterminated ${ in a back-tick string");
        tok.type = "eof";
        out.push(tok);
        return out;
      }
      const c = src[i] ?? "";
      if (inTemplate && c === "}" && depth === 0) {
        advance();
        out.push({ ...tok, type: "eof", text: "}", start: i - 1, end: i - 1 });
        return out;
      }
      if (/[0-9]/.test(c)) number(tok);
      else if (isIdentStart(c) && !(c === "_" && !isIdentPart(src[i + 1] ?? ""))) {
        let j = i;
        while (j < src.length && isIdentPart(src[j] ?? "")) j++;
        tok.text = src.slice(i, j);
        tok.type = KEYWORDS.has(tok.text) ? "keyword" : "ident";
        advance(j - i);
      } else if (c === '"') {
        advance();
        let s = "";
        for (;;) {
          if (i >= src.length || src[i] === "\n") fail("unterminated string", { line: tok.line, column: tok.column });
          if (src[i] === '"') break;
          if (src[i] === "\\") s += escape('"');
          else {
            s += src[i];
            advance();
          }
        }
        advance();
        tok.type = "string";
        tok.text = s;
      } else if (c === "'") {
        // A character literal: kept as a one-character string (see docs: no separate char type).
        advance();
        const ch = src[i] === "\\" ? escape("'") : (() => {
          const cp = String.fromCodePoint(src.codePointAt(i) ?? 0);
          advance(cp.length);
          return cp;
        })();
        if (src[i] !== "'" || ch === "'") fail("a character literal holds exactly one character", { line: tok.line, column: tok.column });
        advance();
        tok.type = "string";
        tok.text = ch;
      } else if (c === "`") {
        advance();
        const parts: TemplatePart[] = [];
        let s = "";
        for (;;) {
          if (i >= src.length) fail("unterminated back-tick string", { line: tok.line, column: tok.column });
          if (src[i] === "`") break;
          if (src[i] === "$" && src[i + 1] === "{") {
            if (s) parts.push(s);
            s = "";
            advance(2);
            parts.push(run(true));
          } else if (src[i] === "\\") s += escape("`");
          else {
            s += src[i];
            advance();
          }
        }
        advance();
        if (s) parts.push(s);
        tok.type = "template";
        tok.parts = parts;
      } else {
        const p = PUNCT.find((q) => src.startsWith(q, i));
        if (!p) fail(`unexpected character '${c}'`);
        if (p === "!in" && isIdentPart(src[i + 3] ?? "")) {
          tok.text = "!";
          advance();
        } else {
          tok.text = p!;
          advance(p!.length);
        }
        if (tok.text === "{" || tok.text === "#{") depth++;
        if (tok.text === "}") depth--;
      }
      tok.end = i;
      out.push(tok);
    }
  };

  return run(false);
}
