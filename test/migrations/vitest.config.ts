import { defineConfig } from 'vitest/config';

// Plain Node tests for migrations/ and the runner: a scratch database on the real server and an
// in-memory PGlite. Run with: npx vitest run --config test/migrations/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/migrations/**/*.test.ts'],
    environment: 'node',
    testTimeout: 90_000, // a test applies or rolls back every migration, as a scratch owner; a guard against a hang, not slowness
    hookTimeout: 60_000, // PGlite takes a few seconds to start with its extensions
  },
});
