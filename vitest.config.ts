import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// wrangler.toml's [alias], which the Workers vitest integration does not read: the tests' Worker is bundled like the deployed one.
const ajvRefused = fileURLToPath(import.meta.resolve("./src/factory/ajv-refused.ts"));

/**
 * Two kinds of tests: `workers` runs the Worker inside workerd against the local Neon and Upstash
 * endpoints (started once in test/setup/global.ts); the node projects test those endpoints and
 * the migrations with the real clients, the deploy scripts offline, and `npm run dev`'s parts
 * (crons, /docs in a browser).
 */
export default defineConfig({
  test: {
    // At the root, not in the workers project: it runs in Node with Node's module resolution.
    globalSetup: ["test/setup/global.ts"],
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: inject("bindings") },
          })),
        ],
        resolve: { alias: { ajv: ajvRefused, "ajv-formats": ajvRefused } },
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      "test/local/vitest.config.ts",
      "test/migrations/vitest.config.ts",
      "test/deploy/vitest.config.ts",
      "test/dev/vitest.config.ts",
    ],
  },
});
