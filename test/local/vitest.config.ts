import { defineConfig } from 'vitest/config';

// Plain Node tests for local/ (the Neon and Upstash stand-ins), run against the real servers on
// 127.0.0.1 and the embedded fallbacks. Run with: npx vitest run --config test/local/vitest.config.ts
export default defineConfig({
  test: {
    name: 'node',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/local/**/*.test.ts'],
    environment: 'node',
    testTimeout: 15_000,
    hookTimeout: 60_000, // PGlite takes a few seconds to start
  },
});
