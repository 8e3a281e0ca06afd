import { defineConfig } from "vitest/config";

/**
 * @langchain/langgraph-checkpoint-validation's suites, run by the vitest it brings (4, not the
 * repository's 5: its spec files use that one's globals), from this folder so none of the
 * repository's projects apply: `npm run test:checkpointers`. (Its CLI cannot load an initializer
 * in 1.1.1: its runner imports helpers the package does not build.)
 */
export default defineConfig({
  test: { root: import.meta.dirname, include: ["*.validation.test.ts"], globals: true, testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
