/**
 * A connector query's SQL text, read once up front in its source's dialect (Postgres or
 * MySQL/MariaDB): `:name` placeholders become bound parameters (`$n` or `?`; values never enter
 * the text), and anything but one reading statement is refused before a connection is opened.
 * The source's read-only transaction and user are the guarantee; this is the early, clear refusal.
 */

/** Whose lexical rules the text is read by: strings, identifiers, comments and placeholders differ. */
export type SqlDialect = "postgres" | "mysql";

export type ParamValue = string | number | boolean | null;

/** A refusal of the query text or its parameters: a 422 naming `path`. */
export class QueryRefusal extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Bare words that change data, take locks or control transactions: never in a connector query. */
const WRITING_WORDS = new Set([
  "insert", "update", "delete", "merge", "create", "alter", "drop", "truncate", "grant", "revoke", "copy", "call", "do",
  "execute", "vacuum", "reindex", "cluster", "lock", "refresh", "listen", "notify", "into", "begin", "commit", "rollback", "savepoint",
]);
/** MySQL's other writing statements (REPLACE, LOAD DATA, HANDLER, SET…) can only start a statement, so the start alone refuses them; its WITH never writes. */
const READING_STARTS = new Set(["select", "with", "values", "table"]);

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

export interface BoundQuery {
  /** The text with `$1…$n` (postgres) or `?` (mysql) in place of the placeholders, comments and strings untouched. */
  text: string;
  /** One per `$n` (postgres), one per `?` in order of appearance (mysql: a name used twice is sent twice). */
  values: ParamValue[];
  /** Placeholder names in order of first use. */
  names: string[];
}

/** Where a quoted or commented span that starts at `i` ends (the index after it), in Postgres. */
function skipPostgresSpan(sql: string, i: number): number | null {
  const ch = sql[i]!;
  const next = sql[i + 1];
  if (ch === "-" && next === "-") return lineEnd(sql, i);
  if (ch === "/" && next === "*") {
    // Postgres block comments nest.
    let depth = 0;
    for (let j = i; j < sql.length - 1; j++) {
      if (sql[j] === "/" && sql[j + 1] === "*") (depth++, j++);
      else if (sql[j] === "*" && sql[j + 1] === "/") {
        j++;
        if (--depth === 0) return j + 1;
      }
    }
    throw new QueryRefusal("json.sql", "an unterminated /* comment");
  }
  if (ch === "'" || ch === '"') {
    const escapes = ch === "'" && /[eE]/.test(sql[i - 1] ?? "") && !IDENT_PART.test(sql[i - 2] ?? "");
    return quotedEnd(sql, i, escapes);
  }
  if (ch === "$") {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
    if (!tag) return null;
    const end = sql.indexOf(tag[0], i + tag[0].length);
    if (end < 0) throw new QueryRefusal("json.sql", "an unterminated dollar-quoted string");
    return end + tag[0].length;
  }
  return null;
}

/**
 * The same in MySQL and MariaDB: `#` and `-- ` (a space after) comments, flat block comments,
 * backquoted identifiers. Executable comments (`/*! … *\/`, MariaDB's `/*M! … *\/`) run their
 * text, so they are refused. A backslash in a string is refused too: whether it escapes the next
 * character depends on the server's sql_mode (NO_BACKSLASH_ESCAPES), and the check must read
 * strings exactly as the server does; such values belong in params.
 */
function skipMysqlSpan(sql: string, i: number): number | null {
  const ch = sql[i]!;
  const next = sql[i + 1];
  if (ch === "#" || (ch === "-" && next === "-" && /[\s\x00-\x1f]/.test(sql[i + 2] ?? " "))) return lineEnd(sql, i);
  if (ch === "/" && next === "*") {
    if (/^\/\*M?!/.test(sql.slice(i, i + 4))) throw new QueryRefusal("json.sql", "executable comments (/*! … */) are not accepted: the server runs their text");
    const end = sql.indexOf("*/", i + 2);
    if (end < 0) throw new QueryRefusal("json.sql", "an unterminated /* comment");
    return end + 2;
  }
  if (ch === "'" || ch === '"' || ch === "`") {
    const end = quotedEnd(sql, i, false);
    if (ch !== "`" && sql.slice(i, end).includes("\\")) throw new QueryRefusal("json.sql", "a backslash in a string literal is not accepted (its meaning depends on the server's sql_mode): pass the value in params");
    return end;
  }
  return null;
}

const lineEnd = (sql: string, i: number) => {
  const end = sql.indexOf("\n", i);
  return end < 0 ? sql.length : end + 1;
};

/** The end of a quoted span opened at `i` (a doubled quote stays inside; `escapes`: a backslash escapes the next character). */
function quotedEnd(sql: string, i: number, escapes: boolean): number {
  const ch = sql[i]!;
  for (let j = i + 1; j < sql.length; j++) {
    if (escapes && sql[j] === "\\") j++;
    else if (sql[j] === ch) {
      if (sql[j + 1] === ch) j++;
      else return j + 1;
    }
  }
  throw new QueryRefusal("json.sql", ch === "'" ? "an unterminated string literal" : "an unterminated quoted identifier");
}

/**
 * Binds `params` to the `:name` placeholders of `sql` and refuses anything but one reading
 * statement: it must start with SELECT, WITH, VALUES or TABLE, hold no second statement, no
 * word that writes, locks or controls a transaction (outside strings, quoted identifiers and
 * comments), and no positional `$1`. Every placeholder needs a parameter and every parameter a
 * placeholder (a misspelt name is an error, not a silent null).
 */
export function bindNamedParameters(sql: string, params: Record<string, ParamValue>, dialect: SqlDialect = "postgres"): BoundQuery {
  const skipSpan = dialect === "mysql" ? skipMysqlSpan : skipPostgresSpan;
  const names: string[] = [];
  const mysqlValues: ParamValue[] = [];
  let text = "";
  let firstWord: string | null = null;
  let ended = false;
  for (let i = 0; i < sql.length; ) {
    const spanEnd = skipSpan(sql, i);
    if (spanEnd !== null) {
      text += sql.slice(i, spanEnd);
      i = spanEnd;
      continue;
    }
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      text += ch;
      i++;
      continue;
    }
    if (ended) throw new QueryRefusal("json.sql", "must be one statement: nothing may follow a ';'");
    if (ch === ";") {
      ended = true;
      i++;
      continue;
    }
    if (dialect === "postgres" && ch === ":" && sql[i + 1] === ":") {
      text += "::";
      i += 2;
      continue;
    }
    if (ch === ":" && IDENT_START.test(sql[i + 1] ?? "")) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const name = sql.slice(i + 1, j);
      if (!Object.hasOwn(params, name)) throw new QueryRefusal(`json.params.${name}`, `the query uses :${name}, which params does not give`);
      if (!names.includes(name)) names.push(name);
      if (dialect === "mysql") mysqlValues.push(params[name]!);
      text += dialect === "mysql" ? "?" : `$${names.indexOf(name) + 1}`;
      i = j;
      continue;
    }
    if (dialect === "postgres" && ch === "$" && /\d/.test(sql[i + 1] ?? "")) throw new QueryRefusal("json.sql", "positional parameters ($1) are not accepted: name them (:line_code) and give their values in params");
    if (dialect === "mysql" && ch === "?") throw new QueryRefusal("json.sql", "positional parameters (?) are not accepted: name them (:line_code) and give their values in params");
    if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < sql.length && IDENT_PART.test(sql[j]!)) j++;
      const word = sql.slice(i, j).toLowerCase();
      firstWord ??= word;
      if (WRITING_WORDS.has(word)) {
        throw new QueryRefusal("json.sql", `connectors only read: '${word.toUpperCase()}' is not accepted (quote it, "${word}", if it names a column)`);
      }
      text += sql.slice(i, j);
      i = j;
      continue;
    }
    if (firstWord === null && ch !== "(") firstWord = ch;
    text += ch;
    i++;
  }
  if (firstWord === null) throw new QueryRefusal("json.sql", "must hold a statement");
  if (!READING_STARTS.has(firstWord)) throw new QueryRefusal("json.sql", "connectors only read: the statement must start with SELECT, WITH, VALUES or TABLE");
  const unused = Object.keys(params).filter((name) => !names.includes(name));
  if (unused.length) throw new QueryRefusal(`json.params.${unused[0]}`, `the query has no placeholder :${unused[0]}`);
  return { text: text.trimEnd(), values: dialect === "mysql" ? mysqlValues : names.map((name) => params[name]!), names };
}

/**
 * The bound query inside a subquery with a LIMIT one past `maxRows`, so the source stops there
 * and the caller learns the result was cut. A data-modifying WITH is refused by Postgres inside
 * a subquery, one more guard. The line break keeps a trailing `--` comment from eating the rest.
 */
export const cappedQuery = (text: string, maxRows: number) => `select * from (\n${text}\n) as connector_query limit ${maxRows + 1}`;
