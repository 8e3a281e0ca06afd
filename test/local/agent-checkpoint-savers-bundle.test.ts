import { build } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * Workers refuse code generation from strings, but the workerd of the test pool allows it (the
 * pool loads modules that way), so a saver calling eval or new Function would pass the Worker
 * tests. Bundled for Workers as wrangler would, neither saver (nor what it pulls in from
 * LangGraph and @langchain/core) contains either.
 */
describe("the LangGraph savers bundled for Workers", () => {
  for (const entry of ["src/agent/checkpoint-saver.ts", "src/agent/client/http-saver.ts"]) {
    it(`${entry} uses neither eval nor new Function`, async () => {
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        format: "esm",
        platform: "neutral",
        mainFields: ["module", "main"],
        conditions: ["workerd", "worker", "browser"],
        external: ["node:*"],
        logLevel: "silent",
      });
      const code = result.outputFiles[0]!.text;
      expect(code).toContain("getTuple");
      expect(code.match(/new Function\s*\(|(?<![\w.$])eval\s*\(/g)).toBeNull();
    }, 60_000);
  }
});
