import { z } from "@hono/zod-openapi";
import { JsonObject } from "../platform/input";
import { rowSchema } from "../platform/table-schema";
import { ruleConflicts, ruleDeployments, rulesets, ruleScripts } from "./schema";

/** Response and shared request schemas of the rule routes (docs/factory-rules.md). */

export const Ruleset = rowSchema(rulesets, { metadata: JsonObject }).openapi("FactoryRuleset");

export const RuleScript = rowSchema(ruleScripts).openapi("FactoryRuleScript");

const Codes = z.array(z.string().min(1).max(100)).min(1).max(100);

/** §5.3 canary_target_filter: every key given must match the input (src/factory/rule-routing.ts). */
export const CanaryTargetFilter = z
  .object({
    line_codes: Codes.optional(),
    shift: z.string().min(1).max(50).optional(),
    product_categories: Codes.optional(),
    user_groups: Codes.optional(),
  })
  .strict()
  .openapi("FactoryCanaryTargetFilter", { description: "Who the canary may reach; a key left out matches every input" });

export const RuleDeployment = rowSchema(ruleDeployments, { canaryTargetFilter: CanaryTargetFilter.nullable(), metadata: JsonObject }).openapi(
  "FactoryRuleDeployment",
);

export const RuleConflict = rowSchema(ruleConflicts).openapi("FactoryRuleConflict");
