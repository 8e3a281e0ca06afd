import { describe, expect, it } from "vitest";
import { canonicalize, inputHash, NotCanonicalJsonError, sha256Hex } from "../../src/platform/canonical-json";
import { parts } from "../../src/agent/parts";

/** An IEEE 754 double from its 64 bits, as RFC 8785 Appendix B lists them. */
const fromBits = (hex: string) => new DataView(new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16))).buffer).getFloat64(0);

describe("RFC 8785 (JCS) canonical JSON", () => {
  it("serialises the RFC's §3.2.2 example exactly", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts properties by UTF-16 code units, the RFC's §3.2.3 example", () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",' +
        ' "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    // Read the order off the text: JSON.parse would move the integer-like key "1" first again.
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 by code units, though after it by code point.
    expect(canonicalize(input).indexOf("Emoji")).toBeLessThan(canonicalize(input).indexOf("Hebrew"));
  });

  it("serialises numbers as RFC 8785 Appendix B lists them", () => {
    const samples: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, text] of samples) expect(canonicalize({ n: fromBits(bits) }), bits).toBe(`{"n":${text}}`);
  });

  it("refuses what I-JSON cannot hold (NaN, Infinity, lone surrogates), naming where", () => {
    for (const bits of ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"]) {
      expect(() => canonicalize({ n: fromBits(bits) })).toThrow(NotCanonicalJsonError);
    }
    const refusal = (value: unknown) => {
      try {
        canonicalize(value);
      } catch (err) {
        return err as NotCanonicalJsonError;
      }
      throw new Error("accepted");
    };
    expect(refusal({ a: [1, { "b/c~": "\ud800" }] }).pointer).toBe("/a/1/b~1c~0");
    expect(refusal({ ["\udc00"]: 1 }).pointer).toBe("");
    expect(refusal({ a: 1n }).reason).toBe("a bigint is not JSON");
    expect(refusal({ d: new Date(0) }).reason).toBe("only plain objects are JSON");
    // Paired surrogates are fine.
    expect(canonicalize("\ud83d\ude00")).toBe('"😀"');
  });

  it("escapes exactly the control characters, quote and backslash", () => {
    const all = Array.from({ length: 0x30 }, (_, i) => String.fromCharCode(i)).join("") + '"\\\u007f\u2028';
    expect(canonicalize(all)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f" +
        ' !\\"#$%&\'()*+,-./\\"\\\\\u007f\u2028"',
    );
  });

  it("leaves out undefined members and keeps nested structure", () => {
    expect(canonicalize({ b: [{ z: 1, y: undefined, x: [] }], a: {} })).toBe('{"a":{},"b":[{"x":[],"z":1}]}');
  });
});

describe("exec_cache input hash", () => {
  it("is SHA-256 in lowercase hex (FIPS 180-2 vectors)", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("hashes the canonical form, so key order and number spelling do not matter", async () => {
    const a = JSON.parse('{"query": "select 1", "opts": {"limit": 10, "cache": true}, "ratio": 1.50}');
    const b = JSON.parse('{"ratio": 15e-1, "opts": {"cache": true, "limit": 1E1}, "query": "select 1"}');
    expect(await inputHash(a)).toBe(await inputHash(b));
    expect(await inputHash(a)).toBe(await sha256Hex('{"opts":{"cache":true,"limit":10},"query":"select 1","ratio":1.5}'));
    expect(await inputHash(a)).not.toBe(await inputHash({ ...a, ratio: 1.51 }));
    expect(await inputHash([1, 2])).not.toBe(await inputHash([2, 1]));
  });

  it("fills the §8.2 key", async () => {
    const hash = await inputHash({ q: "x" });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(parts.cacheKeys!.execCache("sql_query", hash)).toBe(`exec_cache:sql_query:${hash}`);
  });
});
