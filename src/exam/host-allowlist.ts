/**
 * Is a reference URL one a learner may open during a lab? Decided on the host the browser would
 * actually contact, as the WHATWG URL parser (the browser's own) sees it: that parser lowercases
 * the host, maps IDN to punycode (so a look-alike host never equals an ASCII entry), drops default
 * ports and separates userinfo, so `allowed.com@evil.com` is evil.com.
 */

export type UrlCheck =
  | { allowed: true; host: string; reason: "ALLOWLISTED_HOST" }
  | { allowed: false; host: string | null; reason: UrlRefusal };

export type UrlRefusal = "INVALID_URL" | "SCHEME_NOT_ALLOWED" | "CREDENTIALS_IN_URL" | "PORT_NOT_ALLOWED" | "HOST_NOT_ALLOWLISTED";

export const MAX_URL_LENGTH = 2048;

/** A host name as compared: ASCII (punycode), lower case, without the root label's trailing dot. */
export function normalizeHost(host: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(`http://${host}/`);
  } catch {
    return null;
  }
  // The input must be a bare host: anything the parser moved elsewhere (path, port, userinfo) disqualifies it.
  if (parsed.port || parsed.username || parsed.password || parsed.pathname !== "/") return null;
  const name = parsed.hostname.replace(/\.$/, "");
  return name && !name.includes("..") ? name : null;
}

export function checkReferenceUrl(raw: string, allowlist: readonly string[]): UrlCheck {
  if (raw.length > MAX_URL_LENGTH) return { allowed: false, host: null, reason: "INVALID_URL" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { allowed: false, host: null, reason: "INVALID_URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { allowed: false, host: null, reason: "SCHEME_NOT_ALLOWED" };
  const host = url.hostname.replace(/\.$/, "");
  // Credentials in a reference link have no innocent use and are the classic disguise for another host.
  if (url.username || url.password) return { allowed: false, host, reason: "CREDENTIALS_IN_URL" };
  // A non-default port is a different service on that host, not the documentation site.
  if (url.port) return { allowed: false, host, reason: "PORT_NOT_ALLOWED" };
  const entries = allowlist.map(normalizeHost).filter((h): h is string => h !== null);
  // Exact host or a subdomain at a label boundary: `evilallowed.com` does not end with `.allowed.com`.
  const listed = host !== "" && entries.some((entry) => host === entry || host.endsWith(`.${entry}`));
  return listed ? { allowed: true, host, reason: "ALLOWLISTED_HOST" } : { allowed: false, host, reason: "HOST_NOT_ALLOWLISTED" };
}
