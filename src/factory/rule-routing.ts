/**
 * Which version of a ruleset judges an input (spec 003 §5.3, docs/factory-rules.md "Canary
 * routing"). Pure and deterministic: the judgment service reads the ruleset's active and canary
 * deployments in its batch and calls chooseVersion; the same input of the same tenant always takes
 * the same version while the deployments stay as they are.
 */

/** §5.3 canary_target_filter: every key given must match the input; a key left out matches all. */
export interface CanaryTargetFilter {
  line_codes?: readonly string[];
  shift?: string;
  product_categories?: readonly string[];
  user_groups?: readonly string[];
}

/** A rule_deployments row as routing needs it (the other columns change nothing here). */
export interface RoutableDeployment {
  id: string;
  version: number;
  status: string;
  canaryPct: number | null;
  canaryTargetFilter: CanaryTargetFilter | null;
  deployedAt: Date | string | null;
}

export interface RoutingInput {
  /** The judgment's input_data (§4.1): line_code, shift and product_category are read from it. */
  inputData: Record<string, unknown>;
  /**
   * SHA-256 (hex) of the input_data's RFC 8785 canonical JSON: the hash the judgment cache key
   * carries, so key order and number spelling never change the version an input takes.
   */
  inputHash: string;
  /** The caller's user groups (users.metadata.user_groups), for a filter naming user_groups. */
  userGroups?: readonly string[];
}

export interface VersionChoice {
  deploymentId: string;
  version: number;
  status: "active" | "canary";
  /** The input's canary bucket in [0, 1) when a canary's filter matched it; null otherwise. */
  bucket: number | null;
}

const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Whether the input is in the canary's target population (its filter), before the percentage. */
export function matchesTarget(filter: CanaryTargetFilter | null, input: Pick<RoutingInput, "inputData" | "userGroups">): boolean {
  if (!filter) return true;
  const data = input.inputData;
  const line = text(data.line_code);
  const category = text(data.product_category);
  if (filter.line_codes && !(line !== undefined && filter.line_codes.includes(line))) return false;
  if (filter.shift !== undefined && text(data.shift) !== filter.shift) return false;
  if (filter.product_categories && !(category !== undefined && filter.product_categories.includes(category))) return false;
  if (filter.user_groups && !filter.user_groups.some((g) => input.userGroups?.includes(g))) return false;
  return true;
}

/**
 * The input's canary bucket for one deployment: the first 48 bits of
 * SHA-256("<tenant>\n<deployment id>\n<input hash>") as a fraction of 2^48. The deployment id is
 * part of the key so each canary samples its own 10% rather than every canary the same inputs.
 */
export async function canaryBucket(tenantId: string, deploymentId: string, inputHash: string): Promise<number> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${tenantId}\n${deploymentId}\n${inputHash}`)));
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + digest[i]!;
  return n / 2 ** 48;
}

const newestFirst = (a: RoutableDeployment, b: RoutableDeployment) => time(b.deployedAt) - time(a.deployedAt);
const time = (t: Date | string | null) => (t === null ? 0 : new Date(t).getTime());

/**
 * The version an input runs: the newest canary whose target filter matches the input and whose
 * canary_pct covers the input's bucket, else the newest active deployment, else null (nothing is
 * deployed for this input: the caller judges it `unknown` or by another method). A canary without
 * canary_pct takes no traffic. Statuses other than active and canary are ignored, so the caller
 * may pass every deployment of the ruleset.
 */
export async function chooseVersion(deployments: readonly RoutableDeployment[], input: RoutingInput, tenantId: string): Promise<VersionChoice | null> {
  for (const canary of deployments.filter((d) => d.status === "canary").sort(newestFirst)) {
    if (!matchesTarget(canary.canaryTargetFilter, input)) continue;
    const bucket = await canaryBucket(tenantId, canary.id, input.inputHash);
    if (bucket < (canary.canaryPct ?? 0)) return { deploymentId: canary.id, version: canary.version, status: "canary", bucket };
    break;
  }
  const active = deployments.filter((d) => d.status === "active").sort(newestFirst)[0];
  return active ? { deploymentId: active.id, version: active.version, status: "active", bucket: null } : null;
}
