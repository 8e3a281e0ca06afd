import { defineConfig } from 'vitest/config';

// Node tests of developer parity: the cron runner of `npm run dev`, and /docs in a headless Chromium
// on a real `wrangler dev` Worker. Run with: npx vitest run --project dev
export default defineConfig({
  test: {
    name: 'dev',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/dev/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000, // wrangler dev takes a while to start on a busy machine
  },
});
