import { defineConfig } from 'vitest/config';

// Plain Node tests for scripts/deploy/ and docs/deploy.md: everything about a deploy that can be
// checked offline. Run with: npx vitest run --config test/deploy/vitest.config.ts
export default defineConfig({
  test: {
    name: 'deploy',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/deploy/**/*.test.ts'],
    environment: 'node',
    testTimeout: 90_000, // a wrangler dry run bundles the Worker
    // Each test runs its own processes and scratch files: running them side by side saves minutes of waiting on wrangler.
    sequence: { concurrent: true },
  },
});
