/**
 * Which prompt a request gets (spec 003 §7): the A/B group of a subject, decided by a hash so the
 * same subject always lands in the same group, and the body locale with its fallback chain.
 */

/** A template version taking part in an A/B test: its `a_b_test_group` and its share of traffic. */
export interface AbCandidate {
  group: string;
  /** Relative share (>= 0); the docs say where it is stored. A zero weight never wins. */
  weight: number;
}

/** What the hash is taken over: the same triple always gives the same group. */
export interface AbSubject {
  tenantId: string;
  templateName: string;
  /** Who or what is being judged, e.g. the workflow id or the input's hash. */
  subjectKey: string;
}

/**
 * A number in [0, 1) from SHA-256 of the subject: the first 48 bits, so every group's share is
 * exact to ~1e-14. Fields are joined with U+0000, which none of them can hold (NUL is refused
 * in every input), so ("a", "bc") and ("ab", "c") never collide.
 */
export async function abPoint(subject: AbSubject): Promise<number> {
  const text = [subject.tenantId, subject.templateName, subject.subjectKey].join("\u0000");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + (digest[i] ?? 0);
  return n / 2 ** 48;
}

/**
 * The candidate whose slice of [0, 1) holds the subject's point. Candidates are ordered by group
 * name first, so the answer does not depend on the order rows came back in. Null when there is no
 * candidate with a positive weight.
 */
export async function assignAbGroup<T extends AbCandidate>(subject: AbSubject, candidates: readonly T[]): Promise<T | null> {
  const ordered = candidates.filter((c) => c.weight > 0).sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  const total = ordered.reduce((sum, c) => sum + c.weight, 0);
  if (ordered.length === 0 || !Number.isFinite(total)) return null;
  const point = (await abPoint(subject)) * total;
  let upper = 0;
  for (const candidate of ordered) {
    upper += candidate.weight;
    if (point < upper) return candidate;
  }
  // Rounding can leave the point a hair above the last bound.
  return ordered.at(-1) ?? null;
}

/** The last resort of the locale chain (spec 003 §7.2: the column's default). */
export const DEFAULT_PROMPT_LOCALE = "ko-KR";

/** The locales tried, in order: requested, the tenant's (`settings.locale`), then ko-KR; no repeats. */
export function localeChain(requested: string | null | undefined, tenantLocale: string | null | undefined): string[] {
  const chain: string[] = [];
  for (const locale of [requested, tenantLocale, DEFAULT_PROMPT_LOCALE]) {
    if (locale && !chain.some((l) => l.toLowerCase() === locale.toLowerCase())) chain.push(locale);
  }
  return chain;
}

/**
 * The body for the first locale of the chain that has one (locale tags compare case-insensitively,
 * as BCP 47 says), with the chain tried, so a miss can name every locale it looked for.
 */
export function pickLocaleBody<T extends { locale: string }>(
  bodies: readonly T[],
  requested: string | null | undefined,
  tenantLocale: string | null | undefined,
): { body: T | null; tried: string[] } {
  const tried = localeChain(requested, tenantLocale);
  for (const locale of tried) {
    const body = bodies.find((b) => b.locale.toLowerCase() === locale.toLowerCase());
    if (body) return { body, tried };
  }
  return { body: null, tried };
}

/**
 * A version's traffic share: `model_config.ab_weight` (a number >= 0; the DDL has no weight
 * column, and model_config is the version's own settings), 1 when absent.
 */
export function abWeightOf(modelConfig: unknown): number {
  const weight = modelConfig && typeof modelConfig === "object" ? (modelConfig as Record<string, unknown>).ab_weight : undefined;
  return typeof weight === "number" && Number.isFinite(weight) && weight >= 0 ? weight : 1;
}
