import { defineSystem } from "../platform/system";

/** AI-factory judgment platform (spec 003), under /api/v1/factory (docs/factory.md). */
export const factory = defineSystem({
  name: "factory",
  title: "AI-factory judgment platform (spec 003)",
  docs: ["docs/factory.md", "docs/factory-rhai.md", "docs/factory-rules.md", "docs/factory-judgments.md", "docs/factory-llm.md", "docs/factory-connectors.md", "docs/factory-workflows.md", "docs/factory-mcp.md", "docs/factory-monitoring.md", "docs/factory-learning.md", "docs/factory-chat.md"],
  load: () => import("./parts").then((m) => m.parts),
});
