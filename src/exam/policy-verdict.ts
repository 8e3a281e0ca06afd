/**
 * The server's verdict on a learner action during a lab. The client reports what happened; the
 * verdict is decided here and by the session's mode (which the database knows, so the route
 * passes the verdict for every mode and SQL picks the session's).
 */
import { checkReferenceUrl } from "./host-allowlist";

export const POLICY_ACTIONS = ["REFERENCE_OPEN", "COPY_PASTE", "FOCUS_LOST", "FULLSCREEN_EXIT", "DEVTOOLS_OPEN"] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];
export type Verdict = "ALLOW" | "WARN" | "BLOCK";

export interface VerdictByMode {
  PRACTICE: Verdict;
  PRACTICE_PLUS: Verdict;
  MOCK: Verdict;
  reasonCode: string;
}

/**
 * Actions other than opening a reference: harmless in practice, watched in PRACTICE_PLUS (practice
 * under exam rules), and in a mock what would void a real exam is a BLOCK.
 */
const ACTION_RULES: Record<Exclude<PolicyAction, "REFERENCE_OPEN">, [Verdict, Verdict, Verdict]> = {
  COPY_PASTE: ["ALLOW", "WARN", "BLOCK"],
  FOCUS_LOST: ["ALLOW", "ALLOW", "WARN"],
  FULLSCREEN_EXIT: ["ALLOW", "ALLOW", "WARN"],
  DEVTOOLS_OPEN: ["WARN", "WARN", "BLOCK"],
};

/** A reference URL on the allow-list is ALLOW in every mode; anything else WARN in practice, BLOCK in a mock. */
export function decideVerdict(action: PolicyAction, url: string | undefined, allowlist: readonly string[]): VerdictByMode {
  if (action === "REFERENCE_OPEN") {
    const check = checkReferenceUrl(url ?? "", allowlist);
    return check.allowed
      ? { PRACTICE: "ALLOW", PRACTICE_PLUS: "ALLOW", MOCK: "ALLOW", reasonCode: check.reason }
      : { PRACTICE: "WARN", PRACTICE_PLUS: "WARN", MOCK: "BLOCK", reasonCode: check.reason };
  }
  const [practice, plus, mock] = ACTION_RULES[action];
  return { PRACTICE: practice, PRACTICE_PLUS: plus, MOCK: mock, reasonCode: action };
}
