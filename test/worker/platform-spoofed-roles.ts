/**
 * Role claims that look like a role but are not one (README "Authentication": names match
 * exactly): whitespace, comma lists, case variants, Cyrillic and fullwidth look-alikes, zero-width
 * and control characters. Each must grant nothing, in the routes and in row-level security.
 */

/** The roles some route or policy grants something to; `learner` is what every caller is anyway. */
export const PRIVILEGED = ["admin", "reviewer", "proctor", "teacher", "student", "service", "platform_operator"] as const;

const CYRILLIC: Record<string, string> = { a: "\u0430", c: "\u0441", e: "\u0435", o: "\u043e", p: "\u0440" };
const firstLookalike = (r: string) => {
  const i = [...r].findIndex((ch) => ch in CYRILLIC);
  return r.slice(0, i) + CYRILLIC[r[i]!] + r.slice(i + 1);
};
const fullwidth = (r: string) => [...r].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join("");

/** Each way of spelling a role that must not count as it, by name. */
export const SPOOFS: Record<string, (role: string) => string> = {
  "trailing space": (r) => `${r} `,
  "leading space": (r) => ` ${r}`,
  "trailing tab": (r) => `${r}\t`,
  "comma list": (r) => `learner,${r}`,
  "comma list, spaced": (r) => `learner, ${r}`,
  capitalized: (r) => r[0]!.toUpperCase() + r.slice(1),
  "upper case": (r) => r.toUpperCase(),
  "Cyrillic look-alike": firstLookalike,
  fullwidth,
  "zero-width space": (r) => `${r.slice(0, 1)}\u200b${r.slice(1)}`,
  "trailing NUL": (r) => `${r}\u0000`,
  "JSON array text": (r) => `["${r}"]`,
};

/** Every spoofed spelling of the role. */
export const spoofsOf = (role: string) => Object.values(SPOOFS).map((spoof) => spoof(role));

/** One roles claim per spoof kind, holding that spelling of every privileged role. */
export const spoofedRoleSets = () => Object.entries(SPOOFS).map(([kind, spoof]) => ({ kind, roles: PRIVILEGED.map(spoof) }));
