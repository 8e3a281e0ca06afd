import { describe, expect, it } from "vitest";
import { checkReferenceUrl, normalizeHost } from "../../src/exam/host-allowlist";
import { decideVerdict } from "../../src/exam/policy-verdict";
import { clientIp } from "../../src/platform/request-origin";

const LIST = ["docs.python.org", "Pandas.PyData.org.", "numpy.org", "bücher.example"];

describe("reference URL allow-list", () => {
  it.each([
    ["https://docs.python.org/3/library/", "docs.python.org"],
    ["http://docs.python.org", "docs.python.org"],
    ["HTTPS://DOCS.PYTHON.ORG/3/", "docs.python.org"],
    ["https://docs.python.org./3/", "docs.python.org"],
    ["https://docs.python.org:443/", "docs.python.org"],
    ["http://docs.python.org:80/x", "docs.python.org"],
    ["https://pandas.pydata.org/docs", "pandas.pydata.org"],
    ["https://api.numpy.org/doc", "api.numpy.org"],
    ["https://deep.sub.numpy.org/", "deep.sub.numpy.org"],
    ["https://xn--bcher-kva.example/", "xn--bcher-kva.example"],
    ["https://BÜCHER.example/", "xn--bcher-kva.example"],
    ["https://docs.python.org\\@evil.com/", "docs.python.org"],
    ["  https://numpy.org/  ", "numpy.org"],
  ])("allows %s", (url, host) => {
    expect(checkReferenceUrl(url, LIST)).toEqual({ allowed: true, host, reason: "ALLOWLISTED_HOST" });
  });

  it.each([
    ["https://docs.python.org@evil.com/", "CREDENTIALS_IN_URL"],
    ["https://user:pass@docs.python.org/", "CREDENTIALS_IN_URL"],
    ["https://docs.python.org:443@evil.com/", "CREDENTIALS_IN_URL"],
    ["https://docs.python.org:8443/", "PORT_NOT_ALLOWED"],
    ["https://evilnumpy.org/", "HOST_NOT_ALLOWLISTED"],
    ["https://numpy.org.evil.com/", "HOST_NOT_ALLOWLISTED"],
    ["https://evil.com/?u=https://numpy.org", "HOST_NOT_ALLOWLISTED"],
    ["https://evil.com#numpy.org", "HOST_NOT_ALLOWLISTED"],
    ["https://nümpy.org/", "HOST_NOT_ALLOWLISTED"],
    ["https://nսmpy.org/", "HOST_NOT_ALLOWLISTED"],
    ["https://xn--nmpy-0ra.org/", "HOST_NOT_ALLOWLISTED"],
    ["https://python.org/", "HOST_NOT_ALLOWLISTED"],
    ["https://127.0.0.1/", "HOST_NOT_ALLOWLISTED"],
    ["https://[::1]/", "HOST_NOT_ALLOWLISTED"],
    ["https://numpy.org../", "HOST_NOT_ALLOWLISTED"],
    ["javascript:alert(1)//numpy.org", "SCHEME_NOT_ALLOWED"],
    ["ftp://numpy.org/", "SCHEME_NOT_ALLOWED"],
    ["file:///etc/passwd", "SCHEME_NOT_ALLOWED"],
    ["data:text/html,numpy.org", "SCHEME_NOT_ALLOWED"],
    ["ws://numpy.org/", "SCHEME_NOT_ALLOWED"],
    ["//numpy.org/", "INVALID_URL"],
    ["numpy.org", "INVALID_URL"],
    ["https://", "INVALID_URL"],
    ["", "INVALID_URL"],
    [`https://numpy.org/${"a".repeat(2100)}`, "INVALID_URL"],
  ])("refuses %s (%s)", (url, reason) => {
    const check = checkReferenceUrl(url, LIST);
    expect(check.allowed).toBe(false);
    expect(check.reason).toBe(reason);
  });

  it("normalizes allow-list entries and ignores ones that are not bare hosts", () => {
    expect(normalizeHost("Docs.Python.Org.")).toBe("docs.python.org");
    expect(normalizeHost("bücher.example")).toBe("xn--bcher-kva.example");
    expect(normalizeHost("evil.com:8080")).toBeNull();
    expect(normalizeHost("a@b.com")).toBeNull();
    expect(normalizeHost("a.com/x")).toBeNull();
    expect(checkReferenceUrl("https://evil.com/", ["evil.com/x", ""]).allowed).toBe(false);
    expect(checkReferenceUrl("https://numpy.org/", []).allowed).toBe(false);
  });
});

describe("policy verdicts", () => {
  it("allows listed references in every mode; other references WARN in practice and BLOCK in a mock", () => {
    expect(decideVerdict("REFERENCE_OPEN", "https://numpy.org/", LIST)).toEqual({ PRACTICE: "ALLOW", PRACTICE_PLUS: "ALLOW", MOCK: "ALLOW", reasonCode: "ALLOWLISTED_HOST" });
    expect(decideVerdict("REFERENCE_OPEN", "https://evil.com/", LIST)).toEqual({ PRACTICE: "WARN", PRACTICE_PLUS: "WARN", MOCK: "BLOCK", reasonCode: "HOST_NOT_ALLOWLISTED" });
    expect(decideVerdict("REFERENCE_OPEN", "mailto:x@numpy.org", LIST)).toMatchObject({ MOCK: "BLOCK", reasonCode: "SCHEME_NOT_ALLOWED" });
    expect(decideVerdict("COPY_PASTE", undefined, LIST)).toEqual({ PRACTICE: "ALLOW", PRACTICE_PLUS: "WARN", MOCK: "BLOCK", reasonCode: "COPY_PASTE" });
    expect(decideVerdict("FOCUS_LOST", undefined, LIST)).toMatchObject({ PRACTICE: "ALLOW", MOCK: "WARN" });
  });

  it("keeps CF-Connecting-IP only when it is an IP address", () => {
    expect(clientIp("203.0.113.7")).toBe("203.0.113.7");
    expect(clientIp("2001:DB8:0:0::1")).toBe("2001:db8::1");
    expect(clientIp("256.1.1.1")).toBeNull();
    expect(clientIp("1.2.3")).toBeNull();
    expect(clientIp(":::::")).toBeNull();
    expect(clientIp("evil; drop table")).toBeNull();
    expect(clientIp(undefined)).toBeNull();
  });
});
