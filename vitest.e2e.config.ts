import { defineConfig } from 'vitest/config';

// The end-to-end suite (`npm run test:e2e`): one file, its checks in order, one line each.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    reporters: ['./test/e2e/check-reporter.ts', './test/helpers/summary-reporter.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
