import { describe, expect, it } from "vitest";
import { checkedConfig, checkedCredentials } from "../../src/factory/connector-config";
import { graphqlOperations, restUrl } from "../../src/factory/connector-http";
import { jsonValue, redact } from "../../src/factory/connector-result";
import { bindNamedParameters, cappedQuery, QueryRefusal } from "../../src/factory/sql-text";
import { parseSealingKeys, seal, sealedKeyId, unseal, UnsealError } from "../../src/platform/sealed-secrets";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryRefusal) return `${err.path}: ${err.message}`;
    throw err;
  }
  return "accepted";
};

describe("bindNamedParameters", () => {
  it("turns :names into $n in order of first use, repeating the same number for the same name", () => {
    const bound = bindNamedParameters("select * from t where a = :a and (b = :b or c = :a)", { a: "x", b: 2 });
    expect(bound).toEqual({ text: "select * from t where a = $1 and (b = $2 or c = $1)", values: ["x", 2], names: ["a", "b"] });
  });

  it("leaves casts, strings, quoted identifiers, dollar quotes and comments alone", () => {
    const sql = `select x::text, 'it''s :a', E'\\' :a', "col:a", $q$ :a $q$, $$:a$$ /* :a /* nested :a */ */ from t -- :a\nwhere y = :a`;
    const bound = bindNamedParameters(sql, { a: 1 });
    expect(bound.names).toEqual(["a"]);
    expect(bound.text.endsWith("where y = $1")).toBe(true);
    expect(bound.text.split("$1")).toHaveLength(2);
  });

  it("refuses anything but one reading statement, naming why", () => {
    expect(refusal(() => bindNamedParameters("insert into t values (1)", {}))).toMatch(/^json.sql: connectors only read: 'INSERT'/);
    expect(refusal(() => bindNamedParameters("select 1; select 2", {}))).toMatch(/one statement/);
    expect(refusal(() => bindNamedParameters("select 1;  -- fine\n", {}))).toBe("accepted");
    expect(refusal(() => bindNamedParameters("explain select 1", {}))).toMatch(/must start with SELECT, WITH, VALUES or TABLE/);
    expect(refusal(() => bindNamedParameters("(select 1) union (select 2)", {}))).toBe("accepted");
    expect(refusal(() => bindNamedParameters("select 'unterminated", {}))).toMatch(/unterminated string/);
    expect(refusal(() => bindNamedParameters("select 1 /* open", {}))).toMatch(/unterminated/);
    expect(refusal(() => bindNamedParameters("select $tag$ open", {}))).toMatch(/unterminated dollar/);
    expect(refusal(() => bindNamedParameters("-- only a comment", {}))).toMatch(/must hold a statement/);
    expect(refusal(() => bindNamedParameters("select $1", {}))).toMatch(/positional parameters/);
    expect(refusal(() => bindNamedParameters('select "update" from t', {}))).toBe("accepted");
    expect(refusal(() => bindNamedParameters("select :a", {}))).toBe("json.params.a: the query uses :a, which params does not give");
    expect(refusal(() => bindNamedParameters("select 1", { b: 1 }))).toBe("json.params.b: the query has no placeholder :b");
  });

  it("reads MySQL's dialect: :names become ? in order of appearance, a repeated name sent again", () => {
    const bound = bindNamedParameters("select * from t where a = :a and (b = :b or c = :a)", { a: "x", b: 2 }, "mysql");
    expect(bound).toEqual({ text: "select * from t where a = ? and (b = ? or c = ?)", values: ["x", 2, "x"], names: ["a", "b"] });
    const sql = "select 'it''s :a', \"x :a\", `col:a`, `a``b` /* :a */ from t # :a\n-- :a\nwhere y = :a";
    expect(bindNamedParameters(sql, { a: 1 }, "mysql")).toMatchObject({ values: [1], text: expect.stringMatching(/where y = \?$/) });
    // "--" without a space after is two minus signs in MySQL, not a comment: the word after it is read.
    expect(refusal(() => bindNamedParameters("select 1 --1\n", {}, "mysql"))).toBe("accepted");
    expect(refusal(() => bindNamedParameters("select 1 --delete\n", {}, "mysql"))).toMatch(/'DELETE'/);
    // Postgres casts and dollar quotes are not MySQL's.
    expect(refusal(() => bindNamedParameters("select $$ :a $$", { a: 1 }, "mysql"))).toBe("accepted");
  });

  it("refuses in MySQL's dialect what the server would read otherwise than the check", () => {
    expect(refusal(() => bindNamedParameters("select 1 /*! , sleep(9) */", {}, "mysql"))).toMatch(/executable comments/);
    expect(refusal(() => bindNamedParameters("select 1 /*M!100000 , 2 */", {}, "mysql"))).toMatch(/executable comments/);
    expect(refusal(() => bindNamedParameters("select 1 /*+ no_index(t) */", {}, "mysql"))).toBe("accepted");
    expect(refusal(() => bindNamedParameters("select 'a\\b'", {}, "mysql"))).toMatch(/backslash/);
    // Read as the server would with NO_BACKSLASH_ESCAPES, 'a\'' never closes; read with escapes it would: refused either way.
    expect(refusal(() => bindNamedParameters("select 'a\\'' , 1", {}, "mysql"))).toMatch(/^json.sql: /);
    expect(refusal(() => bindNamedParameters('select "a\\"', {}, "mysql"))).toMatch(/backslash/);
    expect(refusal(() => bindNamedParameters("select ?", {}, "mysql"))).toMatch(/positional parameters \(\?\)/);
    expect(refusal(() => bindNamedParameters("select `unterminated", {}, "mysql"))).toMatch(/unterminated quoted identifier/);
    expect(refusal(() => bindNamedParameters("replace t set a = 1", {}, "mysql"))).toMatch(/must start with SELECT/);
    expect(refusal(() => bindNamedParameters("select * from t lock in share mode", {}, "mysql"))).toMatch(/'LOCK'/);
    expect(refusal(() => bindNamedParameters("select `update` from t", {}, "mysql"))).toBe("accepted");
  });

  it("caps inside a subquery whose closing survives a trailing comment", () => {
    expect(cappedQuery("select 1 -- last", 10)).toBe("select * from (\nselect 1 -- last\n) as connector_query limit 11");
  });
});

describe("graphqlOperations", () => {
  it("reads the operation types at the top level only", () => {
    expect(graphqlOperations("{ a { b } }")).toEqual(["query"]);
    expect(graphqlOperations("query Q($x: Int = 1) @cached { a(x: $x) }")).toEqual(["query"]);
    expect(graphqlOperations("query A { a } fragment F on T { b } mutation B { c }")).toEqual(["query", "fragment", "mutation"]);
    expect(graphqlOperations('{ a(s: "mutation { x }") } # mutation')).toEqual(["query"]);
    expect(graphqlOperations('"""mutation""" subscription S { a }')).toEqual(["subscription"]);
  });
});

describe("restUrl", () => {
  it("keeps to base_url, encodes segments and sends the rest as the query string", () => {
    expect(restUrl("https://mes.example/api/v1/", "/lines/:line/rows", { line: "a/b c", limit: 5, skip: null }).toString()).toBe("https://mes.example/api/v1/lines/a%2Fb%20c/rows?limit=5");
    for (const path of ["lines", "//evil.example/x", "/a/../b", "/a?x=1", "/a#x", "/a\\b"]) expect(refusal(() => restUrl("https://mes.example/api", path, {}))).toMatch(/^json.query:/);
    expect(refusal(() => restUrl("https://mes.example/api", "/x/:y", {}))).toMatch(/^json.params.y:/);
  });
});

describe("connector config and credentials", () => {
  it("applies defaults and names faulty fields; credential errors never echo the value", () => {
    expect(checkedConfig("postgres", { host: "db", database: "mes" })).toEqual({ host: "db", port: 5432, database: "mes", ssl_enabled: true, read_only: true, query_timeout_seconds: 10, max_rows: 1000 });
    expect(() => checkedCredentials("postgres", { username: "u", password: 12345678 })).toThrowError(expect.objectContaining({ status: 422 }));
    try {
      checkedCredentials("postgres", { username: "u", password: ["s3cr3t-value"] });
    } catch (err) {
      expect(JSON.stringify(err)).not.toContain("s3cr3t-value");
    }
  });
});

describe("connector results", () => {
  it("writes driver values as JSON and redacts secrets from messages", () => {
    expect(jsonValue({ t: new Date("2026-11-01T06:00:00Z"), n: 9007199254740993n, b: new Uint8Array([1, 255]), x: [NaN] })).toEqual({
      t: "2026-11-01T06:00:00.000Z",
      n: "9007199254740993",
      b: "\\x01ff",
      x: ["NaN"],
    });
    expect(redact("auth failed for token abcd-1234 (abcd-1234)", ["abcd-1234", "ab"])).toBe("auth failed for token [redacted] ([redacted])");
  });
});

describe("sealed secrets", () => {
  const key = (byte: number) => Buffer.from(new Uint8Array(32).fill(byte)).toString("base64");

  it("seals under the first key and opens by kid while that key is listed", async () => {
    const old = parseSealingKeys(`k1:${key(1)}`);
    const sealed = await seal(old, "p@ss", "owner-a");
    expect(sealedKeyId(sealed)).toBe("k1");
    expect(sealed).not.toContain("p@ss");
    const rotated = parseSealingKeys(`k2:${key(2)}, k1:${key(1)}`);
    expect(await unseal(rotated, sealed, "owner-a")).toBe("p@ss");
    expect(sealedKeyId(await seal(rotated, "p@ss", "owner-a"))).toBe("k2");
    await expect(unseal(parseSealingKeys(`k2:${key(2)}`), sealed, "owner-a")).rejects.toMatchObject({ reason: "unknown_key", kid: "k1" });
  });

  it("refuses another owner, tampering, malformed text, and a key under another kid", async () => {
    const keys = parseSealingKeys(`k1:${key(1)}`);
    const sealed = await seal(keys, "p@ss", "owner-a");
    await expect(unseal(keys, sealed, "owner-b")).rejects.toMatchObject({ reason: "tampered" });
    const [v, kid, iv, ct] = sealed.split(".");
    const flipped = `${v}.${kid}.${iv}.${ct!.slice(0, -2)}${ct!.endsWith("A") ? "B" : "A"}${ct!.slice(-1)}`;
    await expect(unseal(keys, flipped, "owner-a")).rejects.toBeInstanceOf(UnsealError);
    await expect(unseal(keys, "v1.k1.short", "owner-a")).rejects.toMatchObject({ reason: "malformed" });
    await expect(unseal(parseSealingKeys(`k1:${key(3)}`), sealed, "owner-a")).rejects.toMatchObject({ reason: "tampered" });
  });

  it("parses kid:base64key lists, naming the faulty entry and never a key", () => {
    expect(() => parseSealingKeys("")).toThrow(/at least one/);
    expect(() => parseSealingKeys(`bad kid:${key(1)}`)).toThrow(/entry 1 must be kid:base64key/);
    expect(() => parseSealingKeys("k1:c2hvcnQ=")).toThrow(/key k1 must be 32 bytes/);
    expect(() => parseSealingKeys(`k1:${key(1)},k1:${key(2)}`)).toThrow(/k1 is listed twice/);
    try {
      parseSealingKeys(`k1:${key(1)},k2:${key(2).slice(4)}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(key(2).slice(4, 20));
    }
  });
});
