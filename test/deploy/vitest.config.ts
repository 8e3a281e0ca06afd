import { defineConfig } from 'vitest/config';

// Plain Node tests for scripts/deploy/ and docs/deploy.md: everything about a deploy that can be
// checked offline. Run with: npx vitest run --config test/deploy/vitest.config.ts
export default defineConfig({
  test: {
    name: 'deploy',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/deploy/**/*.test.ts'],
    environment: 'node',
    // A wrangler dry run bundles up to six Workers; beside the rest of `npm test` on two cores one
    // test has taken 90 s. The limit guards against a hang, not against slowness.
    testTimeout: 240_000,
    // Each test runs its own processes and scratch files: running them side by side saves minutes of
    // waiting on wrangler, but all sixteen bundling at once only queue on the CPUs.
    sequence: { concurrent: true },
    maxConcurrency: 4,
  },
});
